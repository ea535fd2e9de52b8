package conversation

// The vocabulary Read works with: every table is built once, when the package's
// variables are initialised, and only read afterwards.

// set builds a word set.
func set(words ...string) map[string]bool {
	s := make(map[string]bool, len(words))
	for _, w := range words {
		s[w] = true
	}
	return s
}

// canonOf builds the canonical-word table from "canonical: variant variant …" groups.
func canonOf(groups map[string][]string) map[string]string {
	out := map[string]string{}
	for c, variants := range groups {
		out[c] = c
		for _, v := range variants {
			out[v] = c
		}
	}
	return out
}

// canon maps a lower-case word (apostrophes dropped) to the word it means. Words not in
// it are their own canonical form; runs of a repeated letter are shortened before a
// second look ("yesss", "stoppp", "nooo").
var canon = canonOf(map[string][]string{
	"yes":         {"y", "yuh", "yeah", "yea", "ya", "yep", "yup", "yah", "yas", "ye", "yeh", "yesh", "yessir", "yesir", "si", "sí", "aye", "affirmative", "yeap", "yeppers", "ys", "yse", "yess"},
	"ok":          {"okay", "k", "kk", "okey", "okie", "oki", "okk", "okey-dokey", "okidoki", "okies", "oky", "ohk", "okayy", "dokie", "dokey", "doke", "roger", "rgr"},
	"sure":        {"surely", "certainly", "definitely", "def", "absolutely", "totally", "ofc", "course"},
	"confirm":     {"confirmed", "confirming", "confirms", "confirmation", "comfirm", "confrim", "cofirm"},
	"correct":     {"exactly", "right", "yessum"},
	"good":        {"perfect", "great", "awesome", "excellent", "cool", "nice", "wonderful", "fantastic", "fab", "sweet", "nicely", "bet", "deal", "fine", "alright", "allright", "aight", "gr8", "grt", "lovely", "super", "ideal", "gud", "goood", "kool", "perf", "prefect", "perfecto", "splendid", "brilliant", "dope"},
	"works":       {"work", "werks", "wrks", "workd", "worked"},
	"sounds":      {"sound", "sounds", "sonds", "soundz"},
	"no":          {"nope", "nah", "na", "nay", "negative", "noo", "nop", "naw", "nada"},
	"none":        {"neither"},
	"other":       {"others", "different", "another", "alternative", "alternatives", "diff", "else"},
	"more":        {"moar", "mor"},
	"please":      {"pls", "plz", "plez", "pleas", "plse", "pleasee", "plx", "pl", "pleez"},
	"thanks":      {"thank", "thx", "ty", "tks", "thnx", "thanx", "tysm", "thnks", "thankyou", "thanku", "thks", "tx", "cheers", "appreciate", "appreciated", "obliged", "thnk"},
	"monday":      {"mon", "mondays", "mondy", "monady"},
	"tuesday":     {"tue", "tues", "tuesdays", "tu", "teusday", "tusday", "tuseday", "tuesay"},
	"wednesday":   {"wed", "weds", "wednesdays", "wensday", "wendsday", "wednsday", "wedensday", "wedn", "wednes", "wenesday", "wedsday", "wednessday"},
	"thursday":    {"thu", "thur", "thurs", "thursdays", "thrusday", "thurday", "thursady", "thr", "thrus", "thurdsay", "thursdy"},
	"friday":      {"fri", "fridays", "firday", "fryday", "fridy", "frday"},
	"saturday":    {"sat", "saturdays", "satur", "saterday", "satruday", "saturdy"},
	"sunday":      {"sun", "sundays", "sundy", "sundya"},
	"today":       {"tday", "todya", "tody", "todayy"},
	"tonight":     {"tonite", "tonigh", "tonigt"},
	"tomorrow":    {"tmrw", "tmr", "tmw", "tomm", "tomorow", "tommorow", "tommorrow", "tomorrw", "tmrow", "tomoro", "tmro", "tomrw", "tomorrows", "tommorw", "tomorro", "tmrrw", "tomarrow", "tomorroe", "tmmrw"},
	"weekend":     {"weekends", "wkend", "wknd", "wkd"},
	"week":        {"wk", "weeks", "wks"},
	"weekday":     {"weekdays", "wkday", "wkdays"},
	"morning":     {"mornings", "morn", "mornin", "morni", "moring", "mroning"},
	"afternoon":   {"afternoons", "aft", "arvo", "afternnon", "afternon", "aftn"},
	"evening":     {"evenings", "eve", "night", "nights", "evenin", "evning", "nite"},
	"noon":        {"midday"},
	"lunch":       {"lunchtime", "lunchtim"},
	"after":       {"aftr", "afta", "past", "since", "afer", "afte"},
	"before":      {"b4", "befor", "bfore", "until", "till", "til", "untill", "bef", "befre"},
	"between":     {"btwn", "betwen", "inbetween"},
	"around":      {"about", "abt", "bout", "round", "roughly", "approx", "approximately", "ish"},
	"stop":        {"stp", "stopp", "sotp", "stpo", "discontinue", "cease", "halt"},
	"unsubscribe": {"unsub", "unsubscribed", "unsuscribe", "unsubcribe", "unsubscibe"},
	"cancel":      {"cancell", "cancle", "cancelled", "canceled", "canceling", "cancelling", "cancl", "cancelation", "cancellation", "cxl", "canel"},
	"quit":        {"quitt"},
	"send":        {"sending", "sent", "sends"},
	"msgverb":     {"text", "texts", "texting", "txt", "txts", "txting", "texted", "message", "messages", "messaging", "msg", "msgs", "msging", "sms", "contact", "contacting", "contacted", "spamming", "bother", "bothering", "harass", "harassing", "harassment", "bug", "bugging", "pester", "pestering", "hounding", "spammed", "messagin", "email", "emails", "notifications", "alerts", "reminders", "reminder", "textin", "texing", "textng"},
	"spam":        {"scam", "scammer", "spammer", "scams", "spammy"},
	"call":        {"calls", "calling", "phoning", "ringing"},
	"reschedule":  {"resched", "reshedule", "rescedule", "rescheduel", "reschedual", "rebook", "reschedul", "reschedulle", "rescheduling", "rescheduled", "reskedule", "reshcedule", "resked", "reskd", "reshed"},
	"move":        {"push", "change", "switch", "shift", "bump", "swap", "moving", "pushing", "changing", "shifting", "mve", "moved"},
	"postpone":    {"delay", "postponed", "postpon"},
	"appointment": {"appt", "apt", "appointmnt", "appoitment", "apointment", "appointement", "visit", "booking", "reservation", "appts", "appointments", "apptmt"},
	"help":        {"hlp", "halp", "helpp"},
	"info":        {"information", "infos"},
	"option":      {"opt", "options", "choice", "choices", "selection", "slot", "slots", "opton", "optoin"},
	"number":      {"num", "nr", "numero", "no."},
	"one":         {"uno"},
	"two":         {"dos"},
	"three":       {"tres"},
	"with":        {"w", "wit", "wth"},
	"that":        {"thatll", "thatd"},
	"available":   {"availability", "availabilities", "avail", "avial", "avalible", "availble", "availible"},
	"noted":       {"received", "recieved", "rcvd", "recvd"},
	"dont":        {"don", "dnt", "donot"},
	"cant":        {"cannot", "cnt"},
	"wont":        {"wouldnt"},
	"asap":        {"soonest", "earliest"},
	"what":        {"wat", "wht", "wut", "whats", "watt"},
	"you":         {"u", "yu", "yall", "youre", "ur"},
	"anytime":     {"whenever"},
	"thing":       {"thang"},
	"interested":  {"intrested", "interseted"},
	"january":     {"jan"},
	"february":    {"feb"},
	"march":       {"mar"},
	"april":       {"apr"},
	"june":        {"jun"},
	"july":        {"jul"},
	"august":      {"aug"},
	"september":   {"sep", "sept"},
	"october":     {"oct"},
	"november":    {"nov"},
	"december":    {"dec"},
	"first":       {"1st", "frist", "fisrt", "firts"},
	"second":      {"secnd", "2nd", "secound", "seccond"},
	"third":       {"3rd", "thrid", "3d"},
	"fourth":      {"4th", "forth"},
	"fifth":       {"5th"},
	"last":        {"final", "latest", "lst"},
	"oclock":      {"oclok"},
	"im":          {"iam"},
	"lets":        {"letss", "lemme"},
})

// known are canonical words that collapse may reach ("stopp" → "stop") but that are
// their own canonical form.
var known = set("stop", "yes", "no", "ok", "sure", "good", "more", "cancel", "please", "help", "quit", "end", "next", "later", "soon")

// numberWords are the number words and their values.
var numberWords = map[string]int{
	"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
	"nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}

// ordinals are the ordinal words and their values; last is -1 (the last option).
var ordinals = map[string]int{"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}

// weekdayOf is a weekday's number plus one.
var weekdayOf = map[string]int{"sunday": 1, "monday": 2, "tuesday": 3, "wednesday": 4, "thursday": 5, "friday": 6, "saturday": 7}

// monthNums are month numbers by name.
var monthNums = map[string]int{"january": 1, "february": 2, "march": 3, "april": 4, "june": 6, "july": 7,
	"august": 8, "september": 9, "october": 10, "november": 11, "december": 12}

// partOfDay are the minutes [lo, hi) a part of the day spans.
var partOfDay = map[string]*[2]int{
	"morning": {480, 720}, "afternoon": {720, 1020}, "evening": {1020, 1260},
	"am": {480, 720}, "pm": {720, 1260}, "thing": {420, 600}, "lunch": {660, 840},
}

// filler is what a message may carry around its meaning without changing it.
var filler = set("please", "thanks", "hi", "hey", "hello", "lol", "haha", "hahaha", "lmao", "um", "umm", "uh", "oh", "so",
	"well", "just", "really", "very", "much", "sir", "maam", "dear", "also", "hii", "heya", "yo", "hmm", "hm", "ah", "oops",
	"sorry", "pleaseee", "kindly", "guys", "man", "mam", "xoxo", "god", "bless", "")

// emphasis may follow a stop word without changing it: "stop it", "STOP NOW".
var emphasis = set("it", "now", "already", "immediately", "asap", "right", "correct", "away", "this", "these", "all", "seriously",
	"ok", "omg", "dude", "man", "the", "them", "that", "forever", "at", "once", "stop", "everything", "for", "good", "ever", "fr", "wtf", "me", "msgverb")

// messaging are the words of messaging itself: "stop texting me", "no more messages".
var messaging = set("msgverb", "call", "spam", "send")

// messagingNoCall is messaging without calls: "don't call before 10" is not an opt-out.
var messagingNoCall = set("msgverb", "spam")

// listWords are the lists one is taken off: "remove me from your texting list".
var listWords = set("list", "lists", "msgverb", "database", "contacts", "system", "number")

// lists are what a number is taken off: "i want off this list".
var lists = set("list", "lists", "database", "contacts")

// intending may stand between a negation and what it negates: "not trying to stop".
var intending = set("trying", "try", "going", "gonna", "mean", "meant", "wanting", "asking", "i", "im")

// addressWords make "wrong number" a detail to correct: "the address you have is the
// wrong number".
var addressWords = set("address", "house", "street", "unit", "apt", "apartment", "suite", "gate", "code", "door", "zip", "st", "ave", "rd")

// againWords after messaging ask for it back: "you can text me again".
var againWords = set("again", "anytime")

// backWords and upWords make "sign me back up".
var backWords = set("back")
var upWords = set("up")

// offVerbs take a number off a list: "take me off", "taken off", "get me off".
var offVerbs = set("take", "taken", "took", "get", "put", "remove", "removed", "me", "be")

// stopNouns make "stop" a thing, not a request: "the stop sign on the corner".
var stopNouns = set("sign", "signs", "light", "lights", "valve", "valves", "cock", "tap", "gap", "watch", "leak", "leaks", "bar")

// numberWord is "number" in "wrong number", "remove my number".
var numberWord = set("number", "phone", "cell", "info", "contact")

// stopVisit are the words after "stop" that make it a visit: "stop by", "stop at 3".
var stopVisit = set("by", "home", "back", "before", "at", "over", "in", "off", "around", "after", "there", "here", "on", "first", "past", "and", "when",
	"anytime", "between", "early", "late", "later", "sometime", "leaking", "working", "running", "dripping")

// stopNegated are the words before "stop" that make it something other than a request to
// stop messages: "it won't stop", "don't stop by", "to stop at".
var stopNegated = set("dont", "doesnt", "wont", "cant", "didnt", "never", "not", "to", "gonna", "will", "bus", "wouldnt", "couldnt",
	"would", "could", "might", "ill", "can", "gotta", "must", "need", "may", "should", "gonna", "shall", "lets")

// refusals before a day refuse it: "I can't do tues or wed".
var refusals = set("cant", "not", "dont", "wont", "no", "never")

// letGo before a number let that option go: "cancel the 9 and do 12:30 instead".
var letGo = set("cancel", "drop", "skip", "scratch")

// askings before a closing yes make it a question: "is that ok", "if thats ok".
var askings = set("is", "are", "if")

// negations turn "before 10" into "not before 10".
var negations = set("not", "dont", "no", "never")

// dayWords name days.
var dayWords = set("today", "tonight", "tomorrow", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
	"weekend", "week", "weekday")

// namedDays name one day: "the 9 tmr".
var namedDays = set("today", "tonight", "tomorrow", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

// whenWords are the words of days and times.
var whenWords = set("today", "tonight", "tomorrow", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
	"weekend", "week", "weekday", "morning", "afternoon", "evening", "noon", "am", "pm", "after", "before", "between", "around",
	"at", "from", "and", "or", "through", "next", "this", "anytime", "asap", "oclock", "early", "late", "clock", "date", "num",
	"ordinal", "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december")

// timePreps are the words before a number that make it a time: "at 2", "after 5".
var timePreps = set("at", "after", "before", "by", "around", "between", "from", "past", "than")

// helpPhrases are whole messages asking what this is.
var helpPhrases = set("what is this", "what this", "who is this", "whos this", "who this", "who dis", "who are you", "who is that",
	"what is that", "how does this work", "how does it work", "how do this work", "what do i do", "what do i reply",
	"what do i say", "what do i text", "what should i reply", "what should i do", "what should i say", "how do i book",
	"how do i do this", "how does this thing work", "how do i use this", "huh", "what", "who", "what is this about",
	"what are you", "is this a bot", "are you a bot", "is this a robot", "is this automated", "what are my options",
	"what am i supposed to reply", "how do i pick", "how do i choose", "what do i do now", "i dont understand",
	"dont understand", "confused", "im confused", "what does this mean", "what do you mean", "what", "who is this please")

// helpPrefixes start a short question about the texts themselves.
var helpPrefixes = []string{"whos texting", "who is texting", "who texted", "who am i", "what number is this", "what company",
	"i dont understand", "dont understand", "im confused", "i am confused", "confused", "what does", "what do you mean", "how does this", "how does it", "how do i", "how do you", "what do i", "what am i", "what should i",
	"what is this", "whats this", "who is this", "whos this", "what are these", "why am i getting", "why did i get", "how is this"}

// visitWords make a question about the visit, not about the texts: "how do i cancel".
var visitWords = set("cancel", "reschedule", "move", "appointment", "postpone", "stop", "price", "cost", "pay", "charge", "fee")

// cancelObjects are what a customer cancels with the business: "scrap the appointment".
var cancelObjects = set("appointment", "it", "that", "this", "everything", "service", "job", "order", "request", "all")

// ownObjects are the customer's own plans, cancelled to make room for the visit.
var ownObjects = set("meeting", "meetings", "class", "plans", "plan", "shift", "call", "lunch", "dinner", "trip", "doctor",
	"dentist", "work", "practice", "thing", "event", "date", "session")

// determiners may stand between a verb and its object: "cancel my 2pm meeting".
var determiners = set("my", "the", "our", "a", "an", "that", "this", "his", "her", "their", "other", "own")

// cancelPolicy are the words of a question about cancelling, for a person to answer.
var cancelPolicy = set("fee", "fees", "policy", "charge", "charged", "penalty", "if", "refund", "deposit")

// notNeeded follow "don't need"/"no longer need" in a cancellation.
var notNeeded = set("come", "to", "you", "appointment", "it", "anymore", "service", "the", "someone", "anyone", "tech", "plumber", "cleaning", "help")

// moveObjects follow a moving verb in a reschedule: "move it", "push my appointment".
var moveObjects = set("it", "appointment", "that", "this", "time", "day", "date", "back", "up", "later", "earlier", "forward", "out",
	"ours", "mine", "tuesday", "monday", "wednesday", "thursday", "friday", "saturday", "sunday", "tomorrow", "week")

// timeNouns follow "another"/"new" in a reschedule: "a different time", "another day".
var timeNouns = set("time", "times", "day", "days", "date", "dates", "option", "week")

// otherChannels are lists a customer may leave that are not our texts: "unsubscribe from
// the email invoices".
var otherChannels = set("other", "email", "emails", "newsletter", "newsletters", "invoice", "invoices", "mail", "mailer")

// worksWords and anymoreWords say a time no longer suits: "tuesday doesn't work anymore".
var worksWords = set("work", "works", "longer")
var anymoreWords = set("anymore", "longer")

// identityNouns name who is texting, in "what company is this": help.
var identityNouns = set("company", "business", "place", "outfit", "shop", "plumber", "plumbers", "plumbing", "electrician",
	"hvac", "cleaner", "cleaners", "cleaning", "service", "services", "store", "firm", "contractor", "number")
var thisWords = set("this", "you", "u")

// sendObjects after "send" make it about messages: "don't send me these", "never send
// anything again".
var sendObjects = set("me", "us", "any", "anything", "more", "these", "them", "this", "those")

// unasked are what a customer did not ask for: "I didn't ask for these".
var unasked = set("this", "these", "them", "msgverb", "spam", "any", "it")

// lastTimes after "last" make it no ordinal: "same guy as last time".
var lastTimes = set("time", "times", "week", "year", "month", "night", "visit")

// askingFor in a clause make it a request: "can someone come out tonight?".
var askingFor = set("can", "could", "would", "any", "anything", "anyone", "chance", "available", "open", "come", "need", "want", "have", "got")

// botWords make a question about who is texting: "is this a bot?".
var botWords = set("bot", "robot", "automated", "human", "machine", "ai")

// nearWords before "to" make the number after it a time: "closer to 4".
var nearWords = set("closer", "close", "near", "nearer")

// optionWords may come before "one" when it is the option number: "option one".
var optionWords = set("option", "number", "take", "pick", "choose", "want", "do", "go", "like", "book")

// pickAfterOrdinal may follow an ordinal that chooses: "the second one", "2nd works".
var pickAfterOrdinal = set("one", "option", "time", "please", "thanks", "works", "is", "sounds", "for", "i", "will", "would",
	"looks", "appointment", "spot", "available", "good", "ok", "yes", "pls", "choice", "opening", "then", "if", "it", "plz")

// pickBeforeOrdinal may come before an ordinal that chooses: "the first", "take the last".
var pickBeforeOrdinal = set("the", "take", "pick", "want", "choose", "do", "go", "book", "option", "number", "prefer")

// pickWords may accompany a pick: "I'll take 2", "lets do #3 please", "the 1pm one works".
var pickWords = set("day", "after", "option", "number", "take", "ill", "i", "will", "would", "like", "want", "do", "lets", "go", "with", "works",
	"is", "good", "the", "one", "pick", "choose", "book", "me", "for", "that", "sounds", "ok", "yes", "sure", "best", "prefer", "be",
	"can", "we", "it", "its", "id", "im", "gonna", "going", "to", "thats", "this", "put", "down", "sign", "up", "either", "then",
	"and", "appointment", "looks", "look", "in", "a", "my", "available", "if", "still", "open", "you", "ordinal", "first", "second",
	"third", "fourth", "fifth", "last", "middle", "of", "those", "these", "them", "please", "thanks", "confirm", "perfect", "at",
	"on", "am", "pm", "noon", "oclock", "clock", "num", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
	"today", "tomorrow", "time", "slot", "great", "fine", "correct", "need", "get", "have", "may", "could", "should", "shall",
	"choice", "here", "there", "want", "wanna", "yes", "lock", "grab", "hold", "reserve", "save", "oh", "thank", "yeah", "one",
	"work", "mine", "our", "us", "spot", "has", "morning", "afternoon", "evening", "number", "two", "three", "four", "five",
	"move", "actually", "instead", "make", "nvm", "nevermind", "better", "wait", "rather", "change", "asap", "other", "no",
	"hmm", "ok", "okay", "sounds", "way", "earlier", "later", "one", "sorry", "meant", "mean", "gimme", "give", "msgverb", "not")

// yesWords are a yes on their own.
var yesWords = set("yes", "ok", "sure", "confirm", "correct", "good", "works", "book", "gotcha", "understood", "noted", "got")

// yesPhrases are a yes in several words: "sounds like a plan", "10-4", "will do".
var yesPhrases = [][]string{{"sounds", "like", "a", "plan"}, {"do", "it"}, {"10", "4"}, {"will", "do"}, {"no", "problem"}, {"no", "worries"},
	{"count", "me", "in"}, {"im", "in"}, {"works", "for", "me"},
	{"dont", "cancel"}, {"still", "on"}, {"were", "on"}, {"still", "good"},
	{"be", "there"}, {"be", "home"}, {"someone", "home"}, {"somebody", "home"}}

// framingYes are the yes words that open or close a confirmation ("works" and "good"
// also close a decline: "none of them work").
var framingYes = set("yes", "ok", "sure", "confirm", "correct", "book", "gotcha", "understood", "noted")

// yesBlockers are hesitation or another request in a message around a yes: "ok let me
// check with my wife", "ok I'll think about it".
var yesBlockers = set("think", "maybe", "check", "ask", "if", "wait", "idk", "unsure", "hold", "cancel", "reschedule", "move",
	"stop", "postpone", "later", "other", "more", "instead", "earlier", "sooner", "price", "cost", "how", "what", "why", "when",
	"where", "which", "who", "let", "lets", "rather", "prefer", "else", "wrong", "none", "nothing", "neither", "bad")

// requests before or after "you" ask the business for something: "can you", "could you".
var requests = set("can", "could", "would", "will", "do", "did", "are", "if")

// questionWords open a question.
var questionWords = set("what", "how", "which", "why")

// replyWords are about answering the texts: "what do I reply", "what do the numbers mean".
var replyWords = set("reply", "respond", "answer", "mean", "means", "meaning", "supposed", "lost", "replying", "responding")

// confirmWords may accompany a yes without changing it: "yes please book it", "sounds good
// see you then", "ok that works for me".
var confirmWords = set("home", "someone", "somebody", "reminder", "were", "still", "yes", "ok", "sure", "confirm", "correct", "good", "works", "book", "gotcha", "understood", "noted", "got",
	"msgverb", "why", "please", "thanks", "that", "it", "sounds", "for", "me", "us", "i", "im", "ill", "we", "will", "be", "there",
	"see", "you", "then", "lets", "do", "go", "book", "looks", "look", "to", "all", "set", "with", "is", "its", "thats", "thing",
	"the", "appointment", "time", "much", "got", "gotcha", "understood", "noted", "ready", "too", "a", "ahead", "on", "one",
	"sounds", "lock", "in", "this", "reserve", "hold", "keep", "count", "yours", "agreed", "agree", "done", "sold", "wonderful",
	"great", "absolutely", "definitely", "of", "course", "fine", "by", "and", "am", "are", "was", "would", "love", "like", "yesss",
	"thank", "very", "so", "much", "appreciate", "it", "works", "work", "my", "our", "really", "totally", "100", "just", "yeah",
	"do", "go", "for", "course", "affirmative", "indeed", "alrighty", "cool", "itll", "good", "works", "sure", "confirmed", "super",
	"goodness", "plan", "have", "booked", "having", "coming", "come", "on", "wait", "waiting", "forward", "looking", "great", "job")

// declined follow "not"/"can't" in a decline: "not those", "can't do any of those".
var declined = set("those", "these", "them", "that", "any", "good", "great", "ideal", "do", "make", "works", "none", "available", "free", "going", "gonna")

// moreWords may accompany a decline or a request for other times.
var moreWords = set("bad", "terrible", "awful", "nothing", "ya", "yall", "besides", "except", "apart", "send", "unavailable", "no", "none", "other", "next", "later", "more", "else", "neither", "busy", "of", "those", "these", "them",
	"the", "times", "time", "works", "for", "me", "any", "anything", "do", "you", "have", "got", "something", "option", "what",
	"about", "dates", "days", "day", "available", "openings", "opening", "good", "are", "that", "i", "cant", "can", "im", "not",
	"then", "unfortunately", "will", "be", "there", "is", "it", "at", "all", "show", "give", "see", "open", "free", "choices",
	"anymore", "thats", "wont", "dont", "doesnt", "either", "ones", "one", "list", "need", "want", "like", "would", "prefer",
	"out", "way", "too", "far", "away", "msgverb", "us", "a", "an", "those", "we", "my", "schedule", "ok", "none", "thanks",
	"please", "try", "else", "maybe", "different", "instead", "really", "good", "well", "hmm", "nah", "nope", "sorry", "with",
	"work", "appointment", "so", "yet", "still", "left", "possible", "got", "get", "could", "options", "alternatives", "offer",
	"offers", "other", "did", "does", "is", "available", "in", "on", "future", "further", "down", "road", "line", "how",
	"about", "also", "ones", "spots", "spot", "until", "these", "am", "was", "sure", "if", "or", "to", "and", "thank")

// windowWords may accompany a day or time window.
var windowWords = set("following", "chance", "someone", "somebody", "anyone", "out", "send", "closer", "close", "near", "nearer", "how", "about", "what", "do", "you", "have", "anything", "any", "something", "available", "open", "free",
	"can", "could", "would", "we", "i", "me", "come", "stop", "by", "over", "make", "it", "is", "are", "there", "works", "better",
	"best", "good", "fine", "ok", "prefer", "like", "rather", "instead", "sometime", "some", "time", "times", "option",
	"appointment", "on", "in", "the", "a", "at", "this", "next", "dont", "not", "before", "after", "between", "around", "and",
	"or", "to", "from", "today", "tonight", "tomorrow", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
	"sunday", "weekend", "week", "weekday", "morning", "afternoon", "evening", "noon", "am", "pm", "anytime", "asap",
	"oclock", "early", "late", "later", "clock", "date", "num", "ordinal", "january", "february", "march", "april", "may",
	"june", "july", "august", "september", "october", "november", "december", "for", "us", "my", "our", "be", "will",
	"am", "im", "work", "works", "please", "thanks", "no", "none", "other", "those", "these", "of", "want", "need", "get",
	"day", "days", "also", "maybe", "possible", "possibly", "through", "until", "end", "either", "sooner", "earlier",
	"anyone", "someone", "somebody", "tech", "home", "here", "only", "that", "so", "if", "then", "again", "yes",
	"sure", "great", "perfect", "great", "just", "really", "ideally", "preferably", "free", "off", "since", "than",
	"all", "any", "an", "your", "guys", "go", "send", "see", "show", "list", "give", "slots", "spots", "openings",
	"opening", "hours", "earliest", "soon", "as", "possible", "still", "way", "yeah", "cant", "wont", "move", "reschedule",
	"could", "should", "how's", "hows", "does", "did", "first", "thing", "school", "lunch", "dinner", "ish", "til", "o",
	"thanks", "sounds", "gonna", "going", "else", "ones", "around", "exactly", "whole", "entire", "one", "there", "when",
	"whatever", "whichever", "okay", "got", "has", "had", "weekday", "middle", "mid", "two", "three", "four", "five",
	"booked", "schedule", "scheduled", "book", "put", "down", "pencil", "swing", "drop", "pop", "anytime", "not",
	"from", "till", "with", "what", "which", "works", "window", "slot")

// negationCarriers may stand between a negation and the messaging it refuses: "I do not
// want to receive these messages", "don't ever text me", "please not send me message".
var negationCarriers = set("longer", "want", "wish", "need", "like", "to", "receive", "get", "getting", "any", "these", "those", "your",
	"more", "of", "the", "ever", "you", "me", "be", "being", "wanna", "this", "such", "again", "anymore", "further", "u")

// helpContext may accompany HELP or INFO in a request for help: "HELP me understand this".
var helpContext = set("me", "understand", "this", "that", "these", "with", "what", "how", "i", "need", "some", "msgverb", "does",
	"work", "works", "it", "do", "get", "can", "you", "mean", "means", "please", "menu", "commands", "is", "am", "confused")

// choosing words say a day or time names one of the options on offer: "the morning one",
// "wed afternoon works", "I'll take the 9 AM".
var choosing = set("one", "works", "good", "take", "do", "go", "fine", "perfect", "book", "ok", "sounds", "great", "pick",
	"choose", "want", "like", "prefer", "best", "yes", "sure", "make")

// caveats in another clause keep a pick or a yes from being read past them: "yes. but can
// mike come instead".
var caveats = set("but", "however", "instead", "except", "unless", "although", "though", "actually", "wait", "earlier")

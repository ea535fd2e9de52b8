package twiliofake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	inject "ringback/fakes/internal/fault"
)

const apiVersion = "2010-04-01"

// maxBody is Twilio's limit on a message body, in characters (error 21617).
const maxBody = 1600

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// createMessage serves POST /2010-04-01/Accounts/{AccountSid}/Messages.json.
func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	fault := s.faults.Take()
	if fault.Status != 0 {
		inject.Hold(r.Context(), s.done, fault.Delay)
		writeFault(w, fault)
		return
	}

	user, pass, ok := r.BasicAuth()
	if !ok || !equal(user, s.accountSID) || !equal(pass, s.authToken) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if r.PathValue("AccountSid") != s.accountSID {
		writeError(w, http.StatusNotFound, 20404,
			fmt.Sprintf("The requested resource %s was not found", r.URL.Path))
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, 20001, "Unable to parse the request body")
		return
	}
	form := r.PostForm
	m := Message{
		From:                form.Get("From"),
		To:                  form.Get("To"),
		Body:                form.Get("Body"),
		StatusCallback:      form.Get("StatusCallback"),
		MessagingServiceSID: form.Get("MessagingServiceSid"),
		CorrelationID:       r.Header.Get("X-Correlation-Id"),
	}
	if code, msg := s.refusal(m, form); code != 0 {
		writeError(w, http.StatusBadRequest, code, msg)
		return
	}

	m = s.accept(m)
	inject.Hold(r.Context(), s.done, fault.Delay)
	if fault.Malformed {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"sid": "%s", "status": "que`, m.SID)
	} else {
		writeJSON(w, http.StatusCreated, s.resource(m))
	}
	// Callbacks start once the answer is on its way, though the sender may still read
	// the first one before the answer: Twilio allows that race too.
	_ = http.NewResponseController(w).Flush()
	s.scheduleCallbacks(m)
}

// refusal returns the Twilio error for a send request Twilio would refuse, in Twilio's
// order of checks, or 0. It mimics the magic numbers of Twilio's test credentials.
func (s *Server) refusal(m Message, form url.Values) (code int, msg string) {
	switch {
	case m.To == "":
		return 21604, "A 'To' phone number is required."
	case m.From == "" && m.MessagingServiceSID == "":
		return 21603, "A 'From' phone number is required."
	case m.Body == "" && form.Get("MediaUrl") == "" && form.Get("ContentSid") == "":
		return 21602, "Message body is required."
	case len([]rune(m.Body)) > maxBody:
		return 21617, "The concatenated message body exceeds the 1600 character limit."
	case !e164.MatchString(m.To) || m.To == "+15005550001":
		return 21211, fmt.Sprintf("Invalid 'To' Phone Number: %s", m.To)
	case m.From == "+15005550001":
		return 21212, fmt.Sprintf("Invalid From Number (caller ID): %s", m.From)
	case m.From == "+15005550007":
		return 21606, fmt.Sprintf("The From phone number %s is not a valid, SMS-capable inbound phone number or short code for your account.", m.From)
	case m.From == "+15005550008":
		return 21611, "This 'From' number has exceeded the maximum number of queued messages"
	case m.To == "+15005550002":
		return 21612, fmt.Sprintf("The 'To' phone number: %s, is not currently reachable using the 'From' phone number: %s via SMS.", m.To, m.From)
	case m.To == "+15005550003":
		return 21408, fmt.Sprintf("Permission to send an SMS has not been enabled for the region indicated by the 'To' number: %s", m.To)
	case m.To == "+15005550009":
		return 21614, fmt.Sprintf("'To' number %s is not a valid mobile number", m.To)
	case m.StatusCallback != "" && !validCallbackURL(m.StatusCallback):
		return 21609, "Invalid StatusCallback url"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.optedOut[m.To] || m.To == "+15005550004" {
		return 21610, "Attempt to send to unsubscribed recipient"
	}
	return 0, ""
}

func validCallbackURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// accept records m under a new SID and wakes WaitForMessages.
func (s *Server) accept(m Message) Message {
	m.SID = newSID("SM")
	m.ReceivedAt = time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
	return m
}

// messageResource is Twilio's v2010 Message resource as JSON, nulls included.
type messageResource struct {
	AccountSID          string            `json:"account_sid"`
	APIVersion          string            `json:"api_version"`
	Body                string            `json:"body"`
	DateCreated         string            `json:"date_created"`
	DateSent            *string           `json:"date_sent"`
	DateUpdated         string            `json:"date_updated"`
	Direction           string            `json:"direction"`
	ErrorCode           *int              `json:"error_code"`
	ErrorMessage        *string           `json:"error_message"`
	From                *string           `json:"from"`
	MessagingServiceSID *string           `json:"messaging_service_sid"`
	NumMedia            string            `json:"num_media"`
	NumSegments         string            `json:"num_segments"`
	Price               *string           `json:"price"`
	PriceUnit           string            `json:"price_unit"`
	SID                 string            `json:"sid"`
	Status              string            `json:"status"`
	SubresourceURIs     map[string]string `json:"subresource_uris"`
	To                  string            `json:"to"`
	URI                 string            `json:"uri"`
}

func (s *Server) resource(m Message) messageResource {
	uri := fmt.Sprintf("/%s/Accounts/%s/Messages/%s", apiVersion, s.accountSID, m.SID)
	created := m.ReceivedAt.UTC().Format(time.RFC1123Z)
	res := messageResource{
		AccountSID:      s.accountSID,
		APIVersion:      apiVersion,
		Body:            m.Body,
		DateCreated:     created,
		DateUpdated:     created,
		Direction:       "outbound-api",
		NumMedia:        "0",
		NumSegments:     strconv.Itoa(segments(m.Body)),
		PriceUnit:       "USD",
		SID:             m.SID,
		Status:          "queued",
		SubresourceURIs: map[string]string{"media": uri + "/Media.json"},
		To:              m.To,
		URI:             uri + ".json",
	}
	if m.From != "" {
		res.From = &m.From
	}
	if m.MessagingServiceSID != "" {
		// Through a Messaging Service the sender is picked later.
		res.MessagingServiceSID = &m.MessagingServiceSID
		res.Status = "accepted"
		res.NumSegments = "0"
	}
	return res
}

// errorEnvelope is Twilio's JSON error body.
type errorEnvelope struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, errorEnvelope{
		Code:     code,
		Message:  msg,
		MoreInfo: fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
		Status:   status,
	})
}

func writeFault(w http.ResponseWriter, f Fault) {
	if f.HTML {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.Status)
		fmt.Fprintf(w, "<html><head><title>%[1]d %[2]s</title></head><body><center><h1>%[1]d %[2]s</h1></center></body></html>\n",
			f.Status, http.StatusText(f.Status))
		return
	}
	writeError(w, f.Status, f.Code, "Injected fault: "+http.StatusText(f.Status))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// segments counts the SMS segments Twilio bills for body: GSM-7 text fits 160 septets in
// one segment and 153 per segment when concatenated; anything else is UCS-2, 70 and 67
// UTF-16 units.
func segments(body string) int {
	septets, units, gsm := 0, 0, true
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsmBasic, r):
			septets++
		case strings.ContainsRune(gsmExtension, r):
			septets += 2
		default:
			gsm = false
		}
		if r > 0xFFFF {
			units += 2
		} else {
			units++
		}
	}
	single, multi, n := 160, 153, septets
	if !gsm {
		single, multi, n = 70, 67, units
	}
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}

const (
	gsmBasic     = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtension = "\f^{}\\[~]|€"
)

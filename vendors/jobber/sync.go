package jobber

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	vsync "ringback/actors/sync"
)

// The kinds of Jobber ids kept in an appointment's Refs.
const (
	RefClient   = "client"
	RefProperty = "property"
	RefJob      = "job"
	RefVisit    = "visit"
)

// GraphQL documents. Every argument is a variable, so values are never spliced into
// query text.
const (
	clientsQuery = `query ClientsByPhone($searchTerm: String!) {
  clients(searchTerm: $searchTerm, first: 20) { nodes { id phones { number } } }
}`
	clientCreateMutation = `mutation ClientCreate($input: ClientCreateInput!) {
  clientCreate(input: $input) { client { id } userErrors { message path } }
}`
	clientPropertiesQuery = `query ClientProperties($id: EncodedId!) {
  client(id: $id) { id clientProperties(first: 1) { nodes { id } } }
}`
	propertyCreateMutation = `mutation PropertyCreate($clientId: EncodedId!, $input: PropertyCreateInput!) {
  propertyCreate(clientId: $clientId, input: $input) { properties { id } userErrors { message path } }
}`
	clientJobsQuery = `query ClientJobs($id: EncodedId!) {
  client(id: $id) { id jobs(first: 50) { nodes { id instructions visits(first: 1) { nodes { id } } } } }
}`
	jobCreateMutation = `mutation JobCreate($input: JobCreateAttributes!) {
  jobCreate(input: $input) { job { id visits(first: 1) { nodes { id startAt endAt } } } userErrors { message path } }
}`
	jobVisitsQuery = `query JobVisits($id: EncodedId!) {
  job(id: $id) { id visits(first: 1) { nodes { id } } }
}`
	visitEditScheduleMutation = `mutation VisitEditSchedule($id: EncodedId!, $input: VisitEditScheduleInput!) {
  visitEditSchedule(id: $id, input: $input) { visit { id startAt endAt } userErrors { message path } }
}`
	jobEditMutation = `mutation JobEdit($jobId: EncodedId!, $input: JobEditInput!) {
  jobEdit(jobId: $jobId, input: $input) { job { id instructions } userErrors { message path } }
}`
	jobCloseMutation = `mutation JobClose($jobId: EncodedId!, $input: JobCloseInput!) {
  jobClose(jobId: $jobId, input: $input) { job { id jobStatus } userErrors { message path } }
}`
	visitQuery = `query Visit($id: EncodedId!) {
  visit(id: $id) { id startAt endAt visitStatus }
}`
	accountQuery = `query Account { account { id name } }`
)

type (
	idNode struct {
		ID string `json:"id"`
	}
	visitNode struct {
		ID      string `json:"id"`
		StartAt string `json:"startAt"`
		EndAt   string `json:"endAt"`
	}
	jobNode struct {
		ID           string `json:"id"`
		Instructions string `json:"instructions"`
		Visits       struct {
			Nodes []visitNode `json:"nodes"`
		} `json:"visits"`
	}
)

func (v visitNode) times() (start, end time.Time, err error) {
	start, err1 := time.Parse(time.RFC3339, v.StartAt)
	end, err2 := time.Parse(time.RFC3339, v.EndAt)
	if err := errors.Join(err1, err2); err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("jobber: visit %s: %w", v.ID, err)
	}
	return start, end, nil
}

// Sync makes the appointment's Jobber job match appt. Create and Update converge on the
// same state (a client, a property, a job with one visit at appt's time); Delete, or a
// cancelled appointment, closes the job and destroys its visit.
//
// Jobber takes no idempotency key, so each id Jobber hands out is put in refs before the
// next call and every step looks there first: a retried job never makes a second client,
// property or job. One window is left: jobCreate ran but its answer was lost. For it the
// job's instructions carry a marker naming the appointment, and a run that finds a
// property stored but no job looks for the marker among the client's 50 newest jobs
// before creating one. A business editing the marker away inside that window (or a
// client with 50 newer jobs) can still get a duplicate job.
func (c *Client) Sync(ctx context.Context, job vsync.Job, appt vsync.Appointment, refs vsync.Refs) error {
	switch {
	case job.Action == vsync.Delete || appt.Cancelled:
		return c.cancel(ctx, appt, refs)
	case job.Action == vsync.Create || job.Action == vsync.Update:
		return c.book(ctx, appt, refs)
	}
	return vsync.Permanent(fmt.Errorf("jobber: unknown action %q", job.Action))
}

// ids are an appointment's Jobber ids, "" when not known yet.
type ids struct{ client, property, job, visit string }

func loadIDs(ctx context.Context, refs vsync.Refs) (ids, error) {
	var id ids
	for kind, dst := range map[string]*string{RefClient: &id.client, RefProperty: &id.property, RefJob: &id.job, RefVisit: &id.visit} {
		v, _, err := refs.Get(ctx, kind)
		if err != nil {
			return ids{}, fmt.Errorf("jobber: reading ref %s: %w", kind, err)
		}
		*dst = v
	}
	return id, nil
}

func put(ctx context.Context, refs vsync.Refs, kind, id string) error {
	if err := refs.Put(ctx, kind, id); err != nil {
		return fmt.Errorf("jobber: storing ref %s=%s: %w", kind, id, err)
	}
	return nil
}

// book creates what is missing of the appointment's client, property, job and visit,
// then puts the visit at appt's time.
func (c *Client) book(ctx context.Context, appt vsync.Appointment, refs vsync.Refs) error {
	sched, err := scheduleOf(appt)
	if err != nil {
		return err
	}
	id, err := loadIDs(ctx, refs)
	if err != nil {
		return err
	}
	if id.visit != "" {
		if err := c.reschedule(ctx, id.visit, sched); err != nil {
			return err
		}
		// The instructions say whether the customer confirmed; a move clears that.
		if id.job == "" {
			return nil
		}
		return c.editInstructions(ctx, id.job, instructions(appt))
	}
	if id.client == "" {
		if id.client, err = c.findOrCreateClient(ctx, appt); err != nil {
			return err
		}
		if err := put(ctx, refs, RefClient, id.client); err != nil {
			return err
		}
	}
	// The property is always stored before jobCreate is sent: without it, no job exists.
	mayHaveJob := id.property != ""
	if id.property == "" {
		if id.property, err = c.findOrCreateProperty(ctx, id.client); err != nil {
			return err
		}
		if err := put(ctx, refs, RefProperty, id.property); err != nil {
			return err
		}
	}
	if id.job == "" && mayHaveJob {
		if err := c.recoverJob(ctx, &id, appt, refs); err != nil {
			return err
		}
	}
	var created *visitNode
	if id.job == "" {
		j, err := c.createJob(ctx, id.property, appt, sched)
		if err != nil {
			return err
		}
		id.job = j.ID
		if err := put(ctx, refs, RefJob, id.job); err != nil {
			return err
		}
		if len(j.Visits.Nodes) > 0 {
			created = &j.Visits.Nodes[0]
			id.visit = created.ID
			if err := put(ctx, refs, RefVisit, id.visit); err != nil {
				return err
			}
		}
	}
	if id.visit == "" {
		if id.visit, err = c.jobVisit(ctx, id.job); err != nil {
			return err
		}
		if err := put(ctx, refs, RefVisit, id.visit); err != nil {
			return err
		}
	}
	if created != nil {
		if start, end, err := created.times(); err == nil && start.Equal(sched.start) && end.Equal(sched.end) {
			return nil
		}
	}
	// jobCreate reads its times in the Jobber account's zone, which need not be the
	// business's; visitEditSchedule names the zone, so it always lands at the right instant.
	return c.reschedule(ctx, id.visit, sched)
}

// cancel closes the appointment's job, destroying its visit. With no job there is
// nothing to cancel.
func (c *Client) cancel(ctx context.Context, appt vsync.Appointment, refs vsync.Refs) error {
	id, err := loadIDs(ctx, refs)
	if err != nil {
		return err
	}
	if id.job == "" && id.property != "" {
		if err := c.recoverJob(ctx, &id, appt, refs); err != nil {
			return err
		}
	}
	if id.job == "" {
		return nil
	}
	var out struct {
		JobClose struct {
			UserErrors []userError `json:"userErrors"`
		} `json:"jobClose"`
	}
	// DESTROY_ALL, not COMPLETE_PAST_DESTROY_FUTURE: a cancelled visit did not happen.
	vars := map[string]any{"jobId": id.job, "input": map[string]any{"modifyIncompleteVisitsBy": "DESTROY_ALL"}}
	if err := c.do(ctx, "jobClose", jobCloseMutation, vars, &out); err != nil {
		return err
	}
	if len(out.JobClose.UserErrors) > 0 && id.visit != "" {
		// Jobber refuses to close a closed job. If the visit is gone, an earlier attempt
		// closed it and lost the answer: the cancellation is done.
		if _, _, gone, err := c.Visit(ctx, id.visit); err == nil && gone {
			return nil
		}
	}
	return rejected("jobClose", out.JobClose.UserErrors)
}

// findOrCreateClient returns the Jobber client with appt's phone number, creating it if
// there is none. Jobber stores numbers as typed, so matches are compared parsed.
func (c *Client) findOrCreateClient(ctx context.Context, appt vsync.Appointment) (string, error) {
	phone, err := phonenumbers.Parse(appt.CustomerPhone, "")
	if err != nil {
		return "", vsync.Permanent(fmt.Errorf("jobber: customer phone %q: %w", appt.CustomerPhone, err))
	}
	var found struct {
		Clients struct {
			Nodes []struct {
				ID     string `json:"id"`
				Phones []struct {
					Number string `json:"number"`
				} `json:"phones"`
			} `json:"nodes"`
		} `json:"clients"`
	}
	// The national number ("5125550199") is what a number typed as "(512) 555-0199" or
	// "+1 512 555 0199" most likely contains; the search is broad, so matches are checked.
	vars := map[string]any{"searchTerm": phonenumbers.GetNationalSignificantNumber(phone)}
	if err := c.do(ctx, "clients", clientsQuery, vars, &found); err != nil {
		return "", err
	}
	for _, n := range found.Clients.Nodes {
		for _, p := range n.Phones {
			if samePhone(phone, p.Number) {
				return n.ID, nil
			}
		}
	}

	first, last := splitName(appt.CustomerName, appt.CustomerPhone)
	var out struct {
		ClientCreate struct {
			Client     *idNode     `json:"client"`
			UserErrors []userError `json:"userErrors"`
		} `json:"clientCreate"`
	}
	vars = map[string]any{"input": map[string]any{
		"firstName": first, "lastName": last,
		"phones": []any{map[string]any{"number": appt.CustomerPhone, "description": "MAIN", "primary": true}},
	}}
	if err := c.do(ctx, "clientCreate", clientCreateMutation, vars, &out); err != nil {
		return "", err
	}
	if err := rejected("clientCreate", out.ClientCreate.UserErrors); err != nil {
		return "", err
	}
	if out.ClientCreate.Client == nil {
		return "", vsync.Permanent(errors.New("jobber: clientCreate answered no client"))
	}
	return out.ClientCreate.Client.ID, nil
}

// findOrCreateProperty returns the client's first property, creating one if it has
// none. Looking first also covers a propertyCreate whose answer was lost.
func (c *Client) findOrCreateProperty(ctx context.Context, clientID string) (string, error) {
	var found struct {
		Client *struct {
			ClientProperties struct {
				Nodes []idNode `json:"nodes"`
			} `json:"clientProperties"`
		} `json:"client"`
	}
	if err := c.do(ctx, "client", clientPropertiesQuery, map[string]any{"id": clientID}, &found); err != nil {
		return "", err
	}
	if found.Client == nil {
		return "", vsync.Permanent(fmt.Errorf("jobber: client %s not found", clientID))
	}
	if nodes := found.Client.ClientProperties.Nodes; len(nodes) > 0 {
		return nodes[0].ID, nil
	}

	var out struct {
		PropertyCreate struct {
			Properties []idNode    `json:"properties"`
			UserErrors []userError `json:"userErrors"`
		} `json:"propertyCreate"`
	}
	// A phone booking has no address: the property is a blank one the business fills in.
	vars := map[string]any{"clientId": clientID, "input": map[string]any{
		"properties": []any{map[string]any{"address": map[string]any{}}},
	}}
	if err := c.do(ctx, "propertyCreate", propertyCreateMutation, vars, &out); err != nil {
		return "", err
	}
	if err := rejected("propertyCreate", out.PropertyCreate.UserErrors); err != nil {
		return "", err
	}
	if len(out.PropertyCreate.Properties) == 0 {
		return "", vsync.Permanent(errors.New("jobber: propertyCreate answered no property"))
	}
	return out.PropertyCreate.Properties[0].ID, nil
}

// recoverJob looks among the client's jobs for one an earlier run created for appt
// (see Sync) and stores what it finds.
func (c *Client) recoverJob(ctx context.Context, id *ids, appt vsync.Appointment, refs vsync.Refs) error {
	var found struct {
		Client *struct {
			Jobs struct {
				Nodes []jobNode `json:"nodes"`
			} `json:"jobs"`
		} `json:"client"`
	}
	if err := c.do(ctx, "client", clientJobsQuery, map[string]any{"id": id.client}, &found); err != nil {
		return err
	}
	if found.Client == nil {
		return nil
	}
	for _, j := range found.Client.Jobs.Nodes {
		if !strings.Contains(j.Instructions, marker(appt)) {
			continue
		}
		id.job = j.ID
		if err := put(ctx, refs, RefJob, id.job); err != nil {
			return err
		}
		if len(j.Visits.Nodes) > 0 {
			id.visit = j.Visits.Nodes[0].ID
			return put(ctx, refs, RefVisit, id.visit)
		}
		return nil
	}
	return nil
}

// createJob creates the job with one visit. Its times are local times of appt's zone,
// which Jobber reads in the account's zone (book corrects a difference).
func (c *Client) createJob(ctx context.Context, propertyID string, appt vsync.Appointment, s schedule) (jobNode, error) {
	var out struct {
		JobCreate struct {
			Job        *jobNode    `json:"job"`
			UserErrors []userError `json:"userErrors"`
		} `json:"jobCreate"`
	}
	vars := map[string]any{"input": map[string]any{
		"propertyId":   propertyID,
		"title":        appt.ServiceName,
		"instructions": instructions(appt),
		"invoicing":    map[string]any{"invoicingType": "FIXED_PRICE", "invoicingSchedule": "ON_COMPLETION"},
		"timeframe":    map[string]any{"startAt": s.startDate},
		"scheduling": map[string]any{
			"createVisits": true, "notifyTeam": false, "startTime": s.startTime, "endTime": s.endTime,
		},
	}}
	if err := c.do(ctx, "jobCreate", jobCreateMutation, vars, &out); err != nil {
		return jobNode{}, err
	}
	if err := rejected("jobCreate", out.JobCreate.UserErrors); err != nil {
		return jobNode{}, err
	}
	if out.JobCreate.Job == nil {
		return jobNode{}, vsync.Permanent(errors.New("jobber: jobCreate answered no job"))
	}
	return *out.JobCreate.Job, nil
}

// jobVisit returns the id of the job's first visit.
func (c *Client) jobVisit(ctx context.Context, jobID string) (string, error) {
	var out struct {
		Job *jobNode `json:"job"`
	}
	if err := c.do(ctx, "job", jobVisitsQuery, map[string]any{"id": jobID}, &out); err != nil {
		return "", err
	}
	if out.Job == nil || len(out.Job.Visits.Nodes) == 0 {
		return "", vsync.Permanent(fmt.Errorf("jobber: job %s has no visit", jobID))
	}
	return out.Job.Visits.Nodes[0].ID, nil
}

// editInstructions rewrites the job's instructions (they carry the booking's details and
// whether the customer confirmed).
func (c *Client) editInstructions(ctx context.Context, jobID, text string) error {
	var out struct {
		JobEdit struct {
			UserErrors []userError `json:"userErrors"`
		} `json:"jobEdit"`
	}
	vars := map[string]any{"jobId": jobID, "input": map[string]any{"instructions": text}}
	if err := c.do(ctx, "jobEdit", jobEditMutation, vars, &out); err != nil {
		return err
	}
	return rejected("jobEdit", out.JobEdit.UserErrors)
}

// reschedule puts the visit at the schedule's time.
func (c *Client) reschedule(ctx context.Context, visitID string, s schedule) error {
	var out struct {
		VisitEditSchedule struct {
			UserErrors []userError `json:"userErrors"`
		} `json:"visitEditSchedule"`
	}
	vars := map[string]any{"id": visitID, "input": map[string]any{
		"startAt": map[string]any{"date": s.startDate, "time": s.startTime, "timezone": s.zone},
		"endAt":   map[string]any{"date": s.endDate, "time": s.endTime, "timezone": s.zone},
	}}
	if err := c.do(ctx, "visitEditSchedule", visitEditScheduleMutation, vars, &out); err != nil {
		return err
	}
	return rejected("visitEditSchedule", out.VisitEditSchedule.UserErrors)
}

// schedule is an appointment's span as Jobber's local dates and times.
type schedule struct {
	start, end                                   time.Time
	zone, startDate, startTime, endDate, endTime string
}

func scheduleOf(appt vsync.Appointment) (schedule, error) {
	if appt.TimeZone == "" { // time.LoadLocation("") is UTC: not what the business meant
		return schedule{}, vsync.Permanent(errors.New("jobber: appointment has no time zone"))
	}
	loc, err := time.LoadLocation(appt.TimeZone)
	if err != nil {
		return schedule{}, vsync.Permanent(fmt.Errorf("jobber: appointment time zone: %w", err))
	}
	if !appt.End.After(appt.Start) {
		return schedule{}, vsync.Permanent(fmt.Errorf("jobber: appointment ends (%s) before it starts (%s)", appt.End, appt.Start))
	}
	start, end := appt.Start.In(loc), appt.End.In(loc)
	return schedule{
		start: appt.Start, end: appt.End, zone: appt.TimeZone,
		startDate: start.Format(time.DateOnly), startTime: start.Format(time.TimeOnly),
		endDate: end.Format(time.DateOnly), endTime: end.Format(time.TimeOnly),
	}, nil
}

// marker names the appointment in its job's instructions, so a job whose creation
// answer was lost can be found again.
func marker(appt vsync.Appointment) string { return "Ringback ref: " + appt.ID.String() }

func instructions(appt vsync.Appointment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Booked by phone through Ringback.\nCustomer: %s %s\n", appt.CustomerName, appt.CustomerPhone)
	if appt.ResourceName != "" {
		fmt.Fprintf(&b, "With: %s\n", appt.ResourceName)
	}
	if appt.Quote != "" {
		fmt.Fprintf(&b, "Quoted: %s\n", appt.Quote)
	}
	if !appt.ConfirmedAt.IsZero() {
		at := appt.ConfirmedAt
		if loc, err := time.LoadLocation(appt.TimeZone); err == nil && appt.TimeZone != "" {
			at = at.In(loc)
		}
		fmt.Fprintf(&b, "Customer confirmed by text on %s.\n", at.Format("Mon Jan 2, 3:04 PM"))
	}
	b.WriteString(marker(appt))
	return b.String()
}

// splitName splits a caller's name into Jobber's first and last names. Jobber needs a
// name; a caller who gave none is named by their number.
func splitName(name, phone string) (first, last string) {
	name = strings.Join(strings.Fields(name), " ")
	if name == "" {
		return phone, ""
	}
	first, last, _ = strings.Cut(name, " ")
	return first, last
}

// samePhone reports whether a number as stored in Jobber is phone, reading it in
// phone's region when it has no country code.
func samePhone(phone *phonenumbers.PhoneNumber, stored string) bool {
	n, err := phonenumbers.Parse(stored, phonenumbers.GetRegionCodeForNumber(phone))
	return err == nil && phonenumbers.Format(n, phonenumbers.E164) == phonenumbers.Format(phone, phonenumbers.E164)
}

package jobberfake

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// execute performs one root field with its variables and returns its value, or a
// top-level GraphQL error. Callers hold mu.
func (s *Server) execute(op string, vars json.RawMessage) (any, *gqlError) {
	switch op {
	case "account":
		return map[string]any{"id": s.accountID, "name": "Fake Jobber Account"}, nil
	case "clients":
		return decodeThen(vars, s.searchClients)
	case "client":
		return decodeThen(vars, func(v idVars) (any, *gqlError) { return s.clientNode(s.clients[v.ID]), nil })
	case "job":
		return decodeThen(vars, func(v idVars) (any, *gqlError) { return s.jobNode(s.jobs[v.ID]), nil })
	case "visit":
		return decodeThen(vars, func(v idVars) (any, *gqlError) { return s.visitNode(s.visits[v.ID]), nil })
	case "clientCreate":
		return decodeThen(vars, s.clientCreate)
	case "propertyCreate":
		return decodeThen(vars, s.propertyCreate)
	case "jobCreate":
		return decodeThen(vars, s.jobCreate)
	case "visitEditSchedule":
		return decodeThen(vars, s.visitEditSchedule)
	case "jobClose":
		return decodeThen(vars, s.jobClose)
	case "jobEdit":
		return decodeThen(vars, s.jobEdit)
	}
	return nil, &gqlError{Message: fmt.Sprintf("Field '%s' doesn't exist on type 'Query' or 'Mutation'", op),
		Extensions: map[string]any{"code": "undefinedField"}}
}

// decodeThen decodes the variables into V and calls f.
func decodeThen[V any](raw json.RawMessage, f func(V) (any, *gqlError)) (any, *gqlError) {
	var v V
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, invalid("Variables are invalid: " + err.Error())
		}
	}
	return f(v)
}

func invalid(msg string) *gqlError {
	return &gqlError{Message: msg, Extensions: map[string]any{"code": "argumentLiteralsIncompatible"}}
}

type mutationError struct {
	Message string   `json:"message"`
	Path    []string `json:"path"`
}

func userErrors(msgs ...string) []mutationError {
	out := make([]mutationError, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, mutationError{Message: m, Path: []string{}})
	}
	return out
}

// payload is a mutation's answer: the object under key, or userErrors.
func payload(key string, v any, errs ...string) map[string]any {
	if len(errs) > 0 {
		return map[string]any{key: nil, "userErrors": userErrors(errs...)}
	}
	return map[string]any{key: v, "userErrors": userErrors()}
}

type idVars struct {
	ID string `json:"id"`
}

func (s *Server) searchClients(v struct {
	SearchTerm string `json:"searchTerm"`
}) (any, *gqlError) {
	term, digits := strings.ToLower(strings.TrimSpace(v.SearchTerm)), onlyDigits(v.SearchTerm)
	nodes := []any{}
	for _, id := range s.clientOrder {
		c := s.clients[id]
		name := strings.ToLower(c.FirstName + " " + c.LastName + " " + c.CompanyName)
		match := term != "" && strings.Contains(name, term)
		for _, p := range c.Phones {
			match = match || digits != "" && strings.Contains(onlyDigits(p), digits)
		}
		if match {
			nodes = append(nodes, s.clientNode(c))
		}
	}
	return map[string]any{"nodes": nodes, "totalCount": len(nodes)}, nil
}

func (s *Server) clientCreate(v struct {
	Input *struct {
		FirstName   string `json:"firstName"`
		LastName    string `json:"lastName"`
		CompanyName string `json:"companyName"`
		Phones      []struct {
			Number string `json:"number"`
		} `json:"phones"`
	} `json:"input"`
}) (any, *gqlError) {
	in := v.Input
	if in == nil {
		return nil, invalid("Variable $input of type ClientCreateInput! was provided invalid value")
	}
	var errs []string
	if strings.TrimSpace(in.FirstName+in.LastName+in.CompanyName) == "" {
		errs = append(errs, "Client must have a first name, last name or company name")
	}
	var phones []string
	for _, p := range in.Phones {
		if strings.TrimSpace(p.Number) == "" {
			errs = append(errs, "Phone number can't be blank")
		}
		phones = append(phones, p.Number)
	}
	if len(errs) > 0 {
		return payload("client", nil, errs...), nil
	}
	return payload("client", s.clientNode(s.newClient(in.FirstName, in.LastName, in.CompanyName, phones))), nil
}

func (s *Server) propertyCreate(v struct {
	ClientID string `json:"clientId"`
	Input    *struct {
		Properties []struct {
			Address *json.RawMessage `json:"address"`
		} `json:"properties"`
	} `json:"input"`
}) (any, *gqlError) {
	if v.ClientID == "" || v.Input == nil {
		return nil, invalid("Variables $clientId (EncodedId!) and $input (PropertyCreateInput!) are required")
	}
	c := s.clients[v.ClientID]
	switch {
	case c == nil:
		return payload("properties", nil, "Client not found"), nil
	case len(v.Input.Properties) == 0:
		return payload("properties", nil, "At least one property is required"), nil
	}
	var nodes []any
	for _, p := range v.Input.Properties {
		if p.Address == nil {
			return nil, invalid("PropertyAttributes.address (AddressAttributes!) is required")
		}
	}
	for range v.Input.Properties {
		nodes = append(nodes, map[string]any{"id": s.newProperty(c)})
	}
	return payload("properties", nodes), nil
}

func (s *Server) jobCreate(v struct {
	Input *struct {
		PropertyID   string `json:"propertyId"`
		Title        string `json:"title"`
		Instructions string `json:"instructions"`
		Invoicing    *struct {
			InvoicingType     string `json:"invoicingType"`
			InvoicingSchedule string `json:"invoicingSchedule"`
		} `json:"invoicing"`
		Timeframe *struct {
			StartAt string `json:"startAt"`
		} `json:"timeframe"`
		Scheduling *struct {
			CreateVisits bool   `json:"createVisits"`
			StartTime    string `json:"startTime"`
			EndTime      string `json:"endTime"`
		} `json:"scheduling"`
	} `json:"input"`
}) (any, *gqlError) {
	in := v.Input
	switch {
	case in == nil || in.PropertyID == "":
		return nil, invalid("JobCreateAttributes.propertyId (EncodedId!) is required")
	case in.Invoicing == nil || in.Invoicing.InvoicingType == "" || in.Invoicing.InvoicingSchedule == "":
		return nil, invalid("JobCreateAttributes.invoicing (JobInvoicingAttributes!) is required")
	}
	clientID, ok := s.properties[in.PropertyID]
	if !ok {
		return payload("job", nil, "Property not found"), nil
	}
	var start, end time.Time
	schedule := in.Scheduling != nil && in.Scheduling.CreateVisits
	if schedule {
		// The fake makes one visit from a start date and times, read in the account's
		// zone; Jobber can also make unscheduled and recurring visits.
		var date string
		if in.Timeframe != nil {
			date = in.Timeframe.StartAt
		}
		var err1, err2 error
		start, err1 = localTime(date, in.Scheduling.StartTime, s.loc)
		end, err2 = localTime(date, in.Scheduling.EndTime, s.loc)
		if err1 != nil || err2 != nil {
			return payload("job", nil, "A start date (timeframe.startAt) and start and end times are needed to schedule a visit"), nil
		}
		if !end.After(start) {
			end = end.AddDate(0, 0, 1) // an end time before the start ends the next day
		}
	}
	j := &Job{ID: s.nextID("Job"), ClientID: clientID, PropertyID: in.PropertyID, Title: in.Title, Instructions: in.Instructions}
	s.jobs[j.ID] = j
	if schedule {
		vis := &Visit{ID: s.nextID("Visit"), JobID: j.ID, Start: start, End: end, Status: StatusUpcoming}
		s.visits[vis.ID] = vis
		j.VisitIDs = append(j.VisitIDs, vis.ID)
	}
	return payload("job", s.jobNode(j)), nil
}

type localDateTime struct {
	Date     string `json:"date"`
	Time     string `json:"time"`
	Timezone string `json:"timezone"`
}

func (s *Server) visitEditSchedule(v struct {
	ID    string `json:"id"`
	Input *struct {
		StartAt *localDateTime `json:"startAt"`
		EndAt   *localDateTime `json:"endAt"`
	} `json:"input"`
}) (any, *gqlError) {
	if v.ID == "" || v.Input == nil {
		return nil, invalid("Variables $id (EncodedId!) and $input (VisitEditScheduleInput!) are required")
	}
	vis := s.visits[v.ID]
	if vis == nil || vis.Status == StatusDeleted {
		return payload("visit", nil, "Visit not found"), nil
	}
	start, end := vis.Start, vis.End
	for _, e := range []struct {
		in  *localDateTime
		out *time.Time
	}{{v.Input.StartAt, &start}, {v.Input.EndAt, &end}} {
		if e.in == nil {
			continue
		}
		loc, err := time.LoadLocation(e.in.Timezone)
		if e.in.Timezone == "" || err != nil {
			return payload("visit", nil, fmt.Sprintf("Timezone %q is not valid", e.in.Timezone)), nil
		}
		t, err := localTime(e.in.Date, e.in.Time, loc)
		if err != nil {
			return payload("visit", nil, "Date or time is not valid"), nil
		}
		*e.out = t
	}
	if !end.After(start) {
		return payload("visit", nil, "End time must be after start time"), nil
	}
	vis.Start, vis.End = start, end
	return payload("visit", s.visitNode(vis)), nil
}

// jobEdit changes a job's title or instructions (the fields the engine writes).
func (s *Server) jobEdit(v struct {
	JobID string `json:"jobId"`
	Input *struct {
		Title        *string `json:"title"`
		Instructions *string `json:"instructions"`
	} `json:"input"`
}) (any, *gqlError) {
	if v.JobID == "" || v.Input == nil {
		return nil, invalid("Variables $jobId (EncodedId!) and $input (JobEditInput!) are required")
	}
	j := s.jobs[v.JobID]
	switch {
	case j == nil:
		return payload("job", nil, "Job not found"), nil
	case j.Closed:
		return payload("job", nil, "A closed job cannot be edited"), nil
	}
	if v.Input.Title != nil {
		j.Title = *v.Input.Title
	}
	if v.Input.Instructions != nil {
		j.Instructions = *v.Input.Instructions
	}
	return payload("job", s.jobNode(j)), nil
}

func (s *Server) jobClose(v struct {
	JobID string `json:"jobId"`
	Input *struct {
		ModifyIncompleteVisitsBy string `json:"modifyIncompleteVisitsBy"`
	} `json:"input"`
}) (any, *gqlError) {
	if v.JobID == "" || v.Input == nil {
		return nil, invalid("Variables $jobId (EncodedId!) and $input (JobCloseInput!) are required")
	}
	decision := v.Input.ModifyIncompleteVisitsBy
	if decision != "DESTROY_ALL" && decision != "COMPLETE_PAST_DESTROY_FUTURE" {
		return nil, invalid(fmt.Sprintf("JobCloseInput.modifyIncompleteVisitsBy: %q is not an IncompleteVisitDecisionEnum", decision))
	}
	j := s.jobs[v.JobID]
	switch {
	case j == nil:
		return payload("job", nil, "Job not found"), nil
	case j.Closed:
		return payload("job", nil, "Job is already closed"), nil
	}
	now := s.now()
	for _, id := range j.VisitIDs {
		vis := s.visits[id]
		switch {
		case vis.Status != StatusUpcoming:
		case decision == "COMPLETE_PAST_DESTROY_FUTURE" && vis.End.Before(now):
			vis.Status = StatusCompleted
		default:
			vis.Status = StatusDeleted
		}
	}
	j.Closed = true
	return payload("job", s.jobNode(j)), nil
}

// clientNode, jobNode and visitNode render objects with every field the fake knows,
// nil for a missing object (GraphQL's null).
func (s *Server) clientNode(c *Client) any {
	if c == nil {
		return nil
	}
	phones := []any{}
	for i, p := range c.Phones {
		phones = append(phones, map[string]any{"number": p, "description": "MAIN", "primary": i == 0})
	}
	props := []any{}
	for _, id := range c.PropertyIDs {
		props = append(props, map[string]any{"id": id})
	}
	jobs := []any{} // newest first
	for n := s.seq["Job"]; n > 0; n-- {
		if j := s.jobs[encodeID("Job", n)]; j.ClientID == c.ID {
			jobs = append(jobs, s.jobNode(j))
		}
	}
	return map[string]any{
		"id": c.ID, "firstName": c.FirstName, "lastName": c.LastName, "companyName": c.CompanyName,
		"name":             strings.TrimSpace(c.FirstName + " " + c.LastName),
		"phones":           phones,
		"clientProperties": map[string]any{"nodes": props},
		"jobs":             map[string]any{"nodes": jobs},
	}
}

func (s *Server) jobNode(j *Job) any {
	if j == nil {
		return nil
	}
	status := "upcoming"
	if j.Closed {
		status = "archived"
	}
	visits := []any{}
	for _, id := range j.VisitIDs {
		if v := s.visits[id]; v.Status != StatusDeleted {
			visits = append(visits, s.visitNode(v))
		}
	}
	return map[string]any{
		"id": j.ID, "title": j.Title, "instructions": j.Instructions, "jobStatus": status,
		"client":   map[string]any{"id": j.ClientID},
		"property": map[string]any{"id": j.PropertyID},
		"visits":   map[string]any{"nodes": visits},
	}
}

func (s *Server) visitNode(v *Visit) any {
	if v == nil || v.Status == StatusDeleted {
		return nil
	}
	return map[string]any{
		"id": v.ID, "startAt": v.Start.UTC().Format(time.RFC3339), "endAt": v.End.UTC().Format(time.RFC3339),
		"visitStatus": v.Status, "job": map[string]any{"id": v.JobID},
	}
}

// localTime reads an ISO 8601 date and time ("15:04:05" or "15:04"; midnight when
// empty) in loc.
func localTime(date, clock string, loc *time.Location) (time.Time, error) {
	if clock == "" {
		clock = "00:00:00"
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, date+" "+clock, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("jobberfake: bad date %q or time %q", date, clock)
}

func onlyDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

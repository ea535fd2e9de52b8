package tenant

import (
	"maps"
	"slices"
)

// Clone is a deep copy of c: no slice, map or pointer is shared with it, so either may
// be changed without affecting the other.
func (c Config) Clone() Config {
	out := c
	out.Endpoints = slices.Clone(c.Endpoints)
	for i := range out.Endpoints {
		if q := out.Endpoints[i].QuietHours; q != nil {
			qc := *q
			out.Endpoints[i].QuietHours = &qc
		}
	}
	out.Services = slices.Clone(c.Services)
	out.Resources = slices.Clone(c.Resources)
	for i := range out.Resources {
		r := &out.Resources[i]
		r.Services = slices.Clone(r.Services)
		if r.Hours != nil {
			hours := make(map[string][]string, len(r.Hours))
			for day, ranges := range r.Hours {
				hours[day] = slices.Clone(ranges)
			}
			r.Hours = hours
		}
		if r.Calendar != nil {
			cal := *r.Calendar
			r.Calendar = &cal
		}
	}
	out.Connections = slices.Clone(c.Connections)
	for i := range out.Connections {
		out.Connections[i].Credentials = maps.Clone(out.Connections[i].Credentials)
	}
	return out
}

// Redact is a deep copy of c fit to show: every secret that is set (each endpoint's
// pbx_secret, the booking_api_key, every connection credential) reads Redacted. Empty
// secrets stay empty, so the copy still tells which are set. Sending the copy back keeps
// the stored secrets; see Validate.
func (c Config) Redact() Config {
	out := c.Clone()
	for i := range out.Endpoints {
		if out.Endpoints[i].PBXSecret != "" {
			out.Endpoints[i].PBXSecret = Redacted
		}
	}
	if out.BookingAPIKey != "" {
		out.BookingAPIKey = Redacted
	}
	for _, conn := range out.Connections {
		for k, v := range conn.Credentials {
			if v != "" {
				conn.Credentials[k] = Redacted
			}
		}
	}
	return out
}

// Package resourcepb is the wire form of the resource actors' messages (resource.proto),
// for the hop between cluster members; resource.ToWire and resource.FromWire convert.
// resource.pb.go is generated (`make proto`); this file is not.
package resourcepb

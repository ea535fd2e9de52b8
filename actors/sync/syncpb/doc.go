// Package syncpb is the generated protobuf form of the sync hosts' messages
// (syncpb/sync.proto); see actors/sync/wire.go.
package syncpb

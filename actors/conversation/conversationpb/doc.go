// Package conversationpb is the wire form of the conversation actors' messages
// (conversation.proto), for the hop between cluster members; conversation.ToWire and
// conversation.FromWire convert. conversation.pb.go is generated (`make proto`); this
// file is not.
package conversationpb

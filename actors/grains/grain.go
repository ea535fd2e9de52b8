package grains

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

	"ringback/actors"
)

// grainProps are the props the cluster spawns a kind's grains with: the kind's own actor
// inside a shell that learns its identity from the cluster, with the kind's props options
// and its codec on both sides of the mailbox: what arrives from another node is decoded
// into the kind's Go message before the actor sees it, and what the actor sends to
// another node (its answers) is encoded.
func grainProps(kind string, k actors.Kind, dir *actors.Directory) *actor.Props {
	opts := append([]actor.PropsOption{
		actor.WithReceiverMiddleware(decoding(k.Codec)),
		actor.WithSenderMiddleware(encoding(k.Codec)),
	}, k.Options...)
	return actor.PropsFromProducer(func() actor.Actor { return &grain{kind: kind, spec: k, dir: dir} }, opts...)
}

// grain is the shell of one activation. The cluster gives the identity in the actor's
// context before Started (and again before each restart's Started), so the kind's actor
// is made there, exactly as the directory would have made it in a single process.
type grain struct {
	kind  string
	spec  actors.Kind
	dir   *actors.Directory
	inner actor.Actor
}

func (g *grain) Receive(c actor.Context) {
	switch c.Message().(type) {
	case *actor.Started:
		id := cluster.GetClusterIdentity(c)
		g.inner = g.spec.Produce(id.Identity)
		g.dir.Hosted(g.kind, id.Identity, c.Self())
	case *cluster.ClusterInit:
		return // the identity was read at Started
	case *actor.Stopped:
		if id := cluster.GetClusterIdentity(c); id != nil {
			g.dir.Forget(g.kind, id.Identity, c.Self())
		}
	}
	if g.inner != nil {
		g.inner.Receive(c)
	}
}

// decoding turns a protobuf message of the kind into its Go form.
func decoding(codec actors.Codec) actor.ReceiverMiddleware {
	return func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
			if m, ok := env.Message.(proto.Message); ok {
				if msg, err := codec.FromWire(m); err == nil {
					env.Message = msg
				}
			}
			next(c, env)
		}
	}
}

// encoding turns a Go message bound for another node into its protobuf form (answers to
// a remote caller's future). A message with no wire form goes as it is: the remote
// layer then refuses it, and the caller's request times out, as it would for any loss.
func encoding(codec actors.Codec) actor.SenderMiddleware {
	return func(next actor.SenderFunc) actor.SenderFunc {
		return func(c actor.SenderContext, target *actor.PID, env *actor.MessageEnvelope) {
			if target != nil && target.Address != c.ActorSystem().Address() {
				if _, isProto := env.Message.(proto.Message); !isProto {
					if m, err := codec.ToWire(env.Message); err == nil {
						env.Message = m
					}
				}
			}
			next(c, target, env)
		}
	}
}

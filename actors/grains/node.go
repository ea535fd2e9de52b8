// Package grains runs the engine's actors as Proto.Actor cluster grains: virtual actors
// addressed by identity, placed by rendezvous hashing over the members that etcd (or
// Kubernetes) lists, each activated on the node that owns its identity. The actors do not
// know: the Directory reaches them through a Node, and their messages cross nodes in
// their protobuf form (each kind's Codec). Postgres stays the arbiter of everything the
// cluster cannot promise (one activation per identity during a topology change,
// exactly-once requests).
package grains

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"ringback/actors"
)

// Config is a node's cluster settings (CLUSTER_* in the environment).
type Config struct {
	// Name is the cluster's: nodes with the same name and membership store form one
	// cluster (default "ringback").
	Name string
	// Provider is the membership store: "etcd" (the only one compiled in; see
	// docs/CLUSTER.md for Kubernetes).
	Provider string
	// EtcdEndpoints are etcd's client URLs.
	EtcdEndpoints []string
	// AdvertiseAddr is host:port of this node's cluster listener, as the other nodes
	// reach it; the node listens there.
	AdvertiseAddr string
	// TTL is the node's membership lease: a node that dies without leaving is dropped
	// this long after its last keep-alive (default 2 s; etcd counts whole seconds).
	TTL time.Duration
	// RequestTimeout bounds one request to a grain, retries included (default 5 s).
	RequestTimeout time.Duration
	// JoinTimeout bounds reaching the membership store at start (default 10 s).
	JoinTimeout time.Duration
	Log         *slog.Logger
	// Restarts counts grains restarted after a panic (ringback_actor_restarts_total).
	Restarts *prometheus.CounterVec
	// Expelled is called (once) when the membership store drops this node while it
	// has not left: its lease ran out (the process was paused, or cut off from etcd,
	// for longer than TTL) and the others have taken over its identities. The node
	// must stop serving: Proto.Actor would re-register it under the same id, which the
	// others refuse, leaving two owners of its identities for as long as it runs.
	Expelled func()
	// MembersLeft is called (on its own goroutine) when members leave this node's view
	// of the cluster: a message sent to one of them just before may have been lost.
	MembersLeft func()
}

func (c *Config) defaults() {
	if c.Name == "" {
		c.Name = "ringback"
	}
	if c.TTL <= 0 {
		c.TTL = 2 * time.Second
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 5 * time.Second
	}
	if c.JoinTimeout <= 0 {
		c.JoinTimeout = 10 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

// Node is this process as a cluster member.
type Node struct {
	cfg      Config
	cluster  *cluster.Cluster
	provider cluster.ClusterProvider
	closer   func() // after the cluster stops: the membership store's client
	lookup   *lookup

	members   *etcdMembers // nil with another provider (tests)
	leaveOnce sync.Once
}

var _ actors.Grains = (*Node)(nil)

// Start joins the cluster as a member hosting every kind registered in dir, and makes
// dir reach its actors through the cluster.
func Start(ctx context.Context, cfg Config, system *actor.ActorSystem, dir *actors.Directory) (*Node, error) {
	cfg.defaults()
	if cfg.Provider != "etcd" {
		return nil, fmt.Errorf("CLUSTER_PROVIDER %q: this build joins clusters through etcd (see docs/CLUSTER.md)", cfg.Provider)
	}
	if len(cfg.EtcdEndpoints) == 0 {
		return nil, errors.New("CLUSTER_ETCD_ENDPOINTS is empty")
	}
	host, portText, err := net.SplitHostPort(cfg.AdvertiseAddr)
	if err != nil {
		return nil, fmt.Errorf("CLUSTER_ADVERTISE_ADDR %q: want host:port: %w", cfg.AdvertiseAddr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port <= 0 || port > 65535 {
		return nil, fmt.Errorf("CLUSTER_ADVERTISE_ADDR %q: the port must be 1 to 65535", cfg.AdvertiseAddr)
	}
	// Proto.Actor's remote panics when it cannot listen: find out first, and say so.
	ln, err := net.Listen("tcp", cfg.AdvertiseAddr)
	if err != nil {
		return nil, fmt.Errorf("CLUSTER_ADVERTISE_ADDR %s: %w", cfg.AdvertiseAddr, err)
	}
	ln.Close()
	// The etcd client starts when the member does, after Proto.Actor's remote: starting
	// the remote sets gRPC's global logger, which the client's gRPC goroutines read.
	provider := &etcdMembers{endpoints: cfg.EtcdEndpoints, prefix: "/ringback/" + cfg.Name + "/", ttl: cfg.TTL,
		joinTimeout: cfg.JoinTimeout, log: cfg.Log, expelled: cfg.Expelled}
	n, err := join(cfg, system, dir, provider, host, port, provider.close)
	if err != nil {
		provider.close()
		return nil, err
	}
	n.members = provider
	return n, nil
}

// join starts the node as a member through provider, listening on host:port.
func join(cfg Config, system *actor.ActorSystem, dir *actors.Directory, provider cluster.ClusterProvider, host string, port int, closer func()) (*Node, error) {
	n := &Node{cfg: cfg, provider: provider, closer: closer}
	n.lookup = &lookup{activate: cfg.RequestTimeout}
	n.lookup.supervise = &restarts{lookup: n.lookup, counter: cfg.Restarts, log: cfg.Log,
		decide: actor.NewOneForOneStrategy(10, 10*time.Second, func(any) actor.Directive { return actor.RestartDirective })}
	var kinds []*cluster.Kind
	for name, k := range dir.Kinds() {
		if k.Codec == nil {
			continue // a kind that never crosses nodes stays a plain local actor
		}
		kinds = append(kinds, cluster.NewKind(name, grainProps(name, k, dir)))
	}
	n.cluster = cluster.New(system, cluster.Configure(cfg.Name, provider, n.lookup,
		remote.Configure(host, port),
		cluster.WithKinds(kinds...), cluster.WithRequestTimeout(cfg.RequestTimeout)))
	if cfg.MembersLeft != nil {
		system.EventStream.Subscribe(func(evt any) {
			if t, ok := evt.(*cluster.ClusterTopology); ok && len(t.Left) > 0 {
				go cfg.MembersLeft()
			}
		})
	}
	if err := startMember(n.cluster); err != nil {
		return nil, err
	}
	dir.UseGrains(n)
	cfg.Log.Info("cluster: joined", "cluster", cfg.Name, "address", system.Address(), "members", n.Members())
	return n, nil
}

// startMember starts the cluster member; Proto.Actor panics when its membership provider
// fails to start, which is an error to report here.
func startMember(c *cluster.Cluster) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("joining the cluster: %v", r)
		}
	}()
	c.StartMember()
	return nil
}

// Request sends msg to the grain (kind, identity) and waits for its answer.
func (n *Node) Request(_ context.Context, kind, identity string, msg proto.Message, timeout time.Duration) (any, error) {
	if timeout <= 0 || timeout > n.cfg.RequestTimeout {
		timeout = n.cfg.RequestTimeout
	}
	return n.cluster.Request(identity, kind, msg, cluster.WithTimeout(timeout), cluster.WithRetryCount(3))
}

// Send delivers msg to the grain (kind, identity) without waiting (activating it on its
// owner if need be). A message to an activation that stopped at that instant is lost;
// the senders' work is durable and re-sent by the sweeps.
func (n *Node) Send(kind, identity string, msg proto.Message) error {
	pid, ok := n.cluster.PidCache.Get(identity, kind)
	if !ok {
		pid = n.cluster.Get(identity, kind)
		if pid == nil {
			return fmt.Errorf("%s %s: no member could activate it", kind, identity)
		}
		n.cluster.PidCache.Set(identity, kind, pid)
	}
	n.cluster.ActorSystem.Root.Send(pid, msg)
	return nil
}

// Members is the number of members in this node's view of the cluster (itself included).
func (n *Node) Members() int { return n.cluster.MemberList.Length() }

// Leave takes the node out of the cluster: its membership record goes first, so the
// others stop routing to it and activate its identities themselves; then its grains stop
// (each after the messages already in its mailbox), then the cluster machinery. Safe to
// call more than once.
func (n *Node) Leave(stopGrains func()) {
	n.leaveOnce.Do(func() {
		if err := n.provider.Shutdown(true); err != nil {
			n.cfg.Log.Warn("cluster: leaving the membership store", "err", err)
		}
		stopGrains()
		n.cluster.Shutdown(true)
		n.closer()
		n.cfg.Log.Info("cluster: left")
	})
}

// restarts is the supervision of grains: restarted after a panic (they reload from
// Postgres), counted by kind, more than 10 within 10 s stops the grain.
type restarts struct {
	lookup  *lookup
	counter *prometheus.CounterVec
	log     *slog.Logger
	decide  actor.SupervisorStrategy
}

func (r *restarts) HandleFailure(system *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, rs *actor.RestartStatistics, reason, msg any) {
	kind := "grain"
	if r.lookup.hosting != nil {
		if k := r.lookup.hosting.kindOf(child); k != "" {
			kind = k
		}
	}
	if r.counter != nil {
		r.counter.WithLabelValues(kind).Inc()
	}
	r.log.Error("grain crashed; restarting", "kind", kind, "reason", fmt.Sprint(reason))
	r.decide.HandleFailure(system, sup, child, rs, reason, msg)
}

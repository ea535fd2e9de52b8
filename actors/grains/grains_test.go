package grains

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"ringback/actors"
)

// echo answers a string with "<identity>: <string>", counting what it was asked.
type echo struct {
	identity string
	n        int
}

func (e *echo) Receive(c actor.Context) {
	if m, ok := c.Message().(*ask); ok {
		e.n++
		c.Respond(&answer{text: fmt.Sprintf("%s: %s #%d", e.identity, m.text, e.n)})
	}
}

// ask and answer are a kind's Go messages; wrapperspb.StringValue their wire form.
type ask struct{ text string }
type answer struct{ text string }

type echoCodec struct{}

func (echoCodec) ToWire(msg any) (proto.Message, error) {
	switch m := msg.(type) {
	case *ask:
		return wrapperspb.String("ask:" + m.text), nil
	case *answer:
		return wrapperspb.String("answer:" + m.text), nil
	}
	return nil, fmt.Errorf("no wire form for %T", msg)
}

func (echoCodec) FromWire(m proto.Message) (any, error) {
	s, ok := m.(*wrapperspb.StringValue)
	if !ok {
		return nil, fmt.Errorf("no Go form for %T", m)
	}
	if v, ok := cutPrefix(s.Value, "ask:"); ok {
		return &ask{text: v}, nil
	}
	if v, ok := cutPrefix(s.Value, "answer:"); ok {
		return &answer{text: v}, nil
	}
	return nil, fmt.Errorf("unknown %q", s.Value)
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// One member: a request through the directory activates the grain by identity with the
// kind's own actor, keeps one activation per identity, and the directory knows the
// activations that live in this process.
func TestADirectoryReachesItsActorsAsGrains(t *testing.T) {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	dir := actors.NewDirectory(system)
	dir.Register("echo", actors.Kind{Produce: func(identity string) actor.Actor { return &echo{identity: identity} }, Codec: echoCodec{}})
	node, err := join(Config{Name: "t", RequestTimeout: 5 * time.Second, Log: slog.New(slog.DiscardHandler)}, system, dir,
		test.NewTestProvider(test.NewInMemAgent()), "127.0.0.1", freePort(t), func() {})
	require.NoError(t, err)
	t.Cleanup(func() { node.Leave(func() { dir.StopAll(5 * time.Second) }) })
	require.True(t, dir.Clustered())
	require.Equal(t, 1, node.Members())

	for i, want := range []string{"a: hi #1", "a: hi #2"} {
		res, err := dir.Request(context.Background(), "echo", "a", &ask{text: "hi"}, 5*time.Second)
		require.NoError(t, err, "request %d", i)
		require.Equal(t, &answer{text: want}, res)
	}
	res, err := dir.Request(context.Background(), "echo", "b", &ask{text: "yo"}, 5*time.Second)
	require.NoError(t, err)
	require.Equal(t, &answer{text: "b: yo #1"}, res)
	require.NoError(t, dir.Send("echo", "a", &ask{text: "fire and forget"}))
	live := dir.Live("echo")
	require.Len(t, live, 2)
	require.Contains(t, live, "a")
}

// A member whose membership record is deleted while it has not left (its lease ran out:
// the process was paused, or cut off from etcd) hears that it was expelled; a member
// that leaves does not.
func TestANodeHearsItWasExpelledButNotThatItLeft(t *testing.T) {
	endpoints := os.Getenv("TEST_ETCD_ENDPOINTS")
	if endpoints == "" {
		t.Fatal("TEST_ETCD_ENDPOINTS is not set: run `make test`, which starts a project-local etcd (scripts/etcd.sh)")
	}
	// An etcd client of the test's own, made after the member started and closed before
	// the next starts: Proto.Actor's remote sets gRPC's global logger as it starts.
	etcdClient := func() *clientv3.Client {
		cli, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(endpoints, ","), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		require.NoError(t, err)
		return cli
	}

	start := func(name string) (*Node, *actors.Directory, chan struct{}) {
		system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
		dir := actors.NewDirectory(system)
		dir.Register("echo", actors.Kind{Produce: func(identity string) actor.Actor { return &echo{identity: identity} }, Codec: echoCodec{}})
		expelled := make(chan struct{})
		node, err := Start(context.Background(), Config{Name: name, Provider: "etcd", EtcdEndpoints: strings.Split(endpoints, ","),
			AdvertiseAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), TTL: 2 * time.Second, Log: slog.New(slog.DiscardHandler),
			Expelled: func() { close(expelled) }}, system, dir)
		require.NoError(t, err)
		return node, dir, expelled
	}
	key := func(name string, n *Node) string {
		return "/ringback/" + name + "/" + n.cluster.ActorSystem.ID
	}

	name := fmt.Sprintf("expel-%d", time.Now().UnixNano())
	node, dir, expelled := start(name)
	cli := etcdClient()
	got, err := cli.Get(context.Background(), key(name, node))
	require.NoError(t, err)
	require.Len(t, got.Kvs, 1, "the member is registered under its key")
	// What etcd does when the lease runs out: the lease goes, and the key with it.
	_, err = cli.Revoke(context.Background(), clientv3.LeaseID(got.Kvs[0].Lease))
	require.NoError(t, err)
	select {
	case <-expelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the node did not hear that its membership ran out")
	}
	node.Leave(func() { dir.StopAll(5 * time.Second) })
	cli.Close()

	name = fmt.Sprintf("leave-%d", time.Now().UnixNano())
	node, dir, expelled = start(name)
	node.Leave(func() { dir.StopAll(5 * time.Second) })
	<-node.members.done
	cli = etcdClient()
	defer cli.Close()
	select {
	case <-expelled:
		t.Fatal("leaving is not being expelled")
	default:
	}
	got, err = cli.Get(context.Background(), key(name, node))
	require.NoError(t, err)
	require.Empty(t, got.Kvs, "a member that leaves deletes its record")
}

package grains

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// etcdMembers is the cluster's membership in etcd: each member is a key under
// /ringback/<cluster>/ bound to a lease it keeps alive, and every member watches the
// prefix and hands Proto.Actor's member list the members it sees.
//
// Proto.Actor ships an etcd provider; this one replaces it because that one races
// (the race detector finds its member map and node metadata written by its watch and
// keep-alive goroutines while others read them, a concurrent map access that can kill
// the process), fetches all members from etcd on every event to elect a leader nobody
// here uses, and, when its own lease has run out, registers again under the same id,
// which the other members have blocked: a member that lives on believing it owns
// identities the others have moved. Here a member whose record disappears while it is
// not leaving is expelled (Config.Expelled) and stops.
type etcdMembers struct {
	endpoints   []string
	prefix      string // "/ringback/<cluster>/"
	ttl         time.Duration
	joinTimeout time.Duration
	log         *slog.Logger
	expelled    func()
	cli         *clientv3.Client // from StartMember on

	mu      sync.Mutex
	leaving bool
	lease   clientv3.LeaseID
	cancel  context.CancelFunc
	done    chan struct{} // closed when the watch and keep-alive loops have ended
	once    sync.Once     // Shutdown's work
	expel   sync.Once
}

// memberRecord is a member's value in etcd; its id is the key's last segment.
type memberRecord struct {
	Host  string   `json:"host"`
	Port  int      `json:"port"`
	Kinds []string `json:"kinds"`
}

var _ cluster.ClusterProvider = (*etcdMembers)(nil)

// key is the member's record.
func (p *etcdMembers) key(id string) string { return p.prefix + id }

// StartMember registers this member under a lease, hands Proto.Actor the members etcd
// lists, and keeps both going in the background.
func (p *etcdMembers) StartMember(c *cluster.Cluster) error {
	host, portText, err := net.SplitHostPort(c.ActorSystem.Address())
	if err != nil {
		return fmt.Errorf("cluster address %q: %w", c.ActorSystem.Address(), err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return fmt.Errorf("cluster address %q: %w", c.ActorSystem.Address(), err)
	}
	self := c.ActorSystem.ID
	value, err := json.Marshal(memberRecord{Host: host, Port: port, Kinds: c.GetClusterKinds()})
	if err != nil {
		return err
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: p.endpoints, DialTimeout: p.joinTimeout, Logger: zap.NewNop()})
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	p.mu.Lock()
	p.cli = cli
	p.mu.Unlock()
	jctx, cancelJoin := context.WithTimeout(context.Background(), p.joinTimeout)
	defer cancelJoin()
	secs := max(int64((p.ttl+time.Second-1)/time.Second), 1) // etcd counts whole seconds
	lease, err := cli.Grant(jctx, secs)
	if err != nil {
		return fmt.Errorf("etcd at %v: grant a lease: %w", p.endpoints, err)
	}
	if _, err := cli.Put(jctx, p.key(self), string(value), clientv3.WithLease(lease.ID)); err != nil {
		return fmt.Errorf("etcd at %v: register: %w", p.endpoints, err)
	}
	members, rev, err := p.list(jctx)
	if err != nil {
		return err
	}
	c.MemberList.UpdateClusterTopology(members.list())
	ctx, cancel := context.WithCancel(context.Background())

	p.mu.Lock()
	p.lease, p.cancel, p.done = lease.ID, cancel, make(chan struct{})
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		p.keepAlive(ctx, lease.ID)
	}()
	go func() {
		defer wg.Done()
		p.watch(ctx, c, self, members, rev)
	}()
	go func() {
		wg.Wait()
		close(p.done)
	}()
	return nil
}

// keepAlive renews the lease until ctx ends. The client gives a lease up after a TTL
// without an answer (etcd unreachable); then it asks etcd whether the lease still exists:
// gone means the others have dropped this member (expelled); unreachable means try again
// (when etcd is down for every member nobody is dropped: etcd extends its leases when it
// comes back).
func (p *etcdMembers) keepAlive(ctx context.Context, lease clientv3.LeaseID) {
	for ctx.Err() == nil {
		alive, err := p.cli.KeepAlive(ctx, lease)
		if err == nil {
			for range alive {
			}
		}
		if ctx.Err() != nil {
			return
		}
		qctx, cancel := context.WithTimeout(ctx, p.ttl)
		ttl, err := p.cli.TimeToLive(qctx, lease)
		cancel()
		if (err == nil && ttl.TTL <= 0) || errors.Is(err, rpctypes.ErrLeaseNotFound) {
			p.expel.Do(func() { p.onExpelled("the membership lease ran out") })
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second / 2):
		}
	}
}

// members is the set etcd lists: id → record.
type members map[string]memberRecord

func (m members) list() cluster.Members {
	out := make(cluster.Members, 0, len(m))
	for id, r := range m {
		out = append(out, &cluster.Member{Id: id, Host: r.Host, Port: int32(r.Port), Kinds: r.Kinds})
	}
	return out
}

// list reads every member and the revision to watch from.
func (p *etcdMembers) list(ctx context.Context) (members, int64, error) {
	resp, err := p.cli.Get(ctx, p.prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, 0, fmt.Errorf("etcd: list members: %w", err)
	}
	m := members{}
	for _, kv := range resp.Kvs {
		var r memberRecord
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			p.log.Warn("cluster: ignoring an unreadable member record", "key", string(kv.Key), "err", err)
			continue
		}
		m[strings.TrimPrefix(string(kv.Key), p.prefix)] = r
	}
	return m, resp.Header.Revision, nil
}

// watch follows the members from revision rev on and hands each change to Proto.Actor's
// member list (this goroutine is its only caller after StartMember). When the watch
// breaks (etcd compacted past it, or was unreachable) it lists afresh and watches on.
func (p *etcdMembers) watch(ctx context.Context, c *cluster.Cluster, self string, m members, rev int64) {
	for ctx.Err() == nil {
		for resp := range p.cli.Watch(clientv3.WithRequireLeader(ctx), p.prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
			if err := resp.Err(); err != nil {
				p.log.Warn("cluster: the membership watch broke; listing again", "err", err)
				break
			}
			for _, ev := range resp.Events {
				id := strings.TrimPrefix(string(ev.Kv.Key), p.prefix)
				switch ev.Type {
				case clientv3.EventTypePut:
					var r memberRecord
					if err := json.Unmarshal(ev.Kv.Value, &r); err != nil {
						continue
					}
					m[id] = r
				case clientv3.EventTypeDelete:
					delete(m, id)
					if id == self {
						p.expel.Do(func() { p.onExpelled("this member's record was deleted (its lease ran out)") })
					}
				}
			}
			rev = resp.Header.Revision
			c.MemberList.UpdateClusterTopology(m.list())
		}
		if ctx.Err() != nil {
			return
		}
		select { // etcd unreachable: try again shortly
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		fresh, r, err := p.list(ctx)
		if err != nil {
			continue
		}
		if _, ok := fresh[self]; !ok {
			p.expel.Do(func() { p.onExpelled("this member's record is gone") })
		}
		m, rev = fresh, r
		c.MemberList.UpdateClusterTopology(m.list())
	}
}

func (p *etcdMembers) onExpelled(why string) {
	p.mu.Lock()
	leaving := p.leaving
	p.mu.Unlock()
	if leaving {
		return
	}
	p.log.Error("cluster: this node was dropped from the membership and the others have taken over its actors; it stops", "why", why)
	if p.expelled != nil {
		p.expelled()
	}
}

// StartClient is not used: every engine is a member.
func (p *etcdMembers) StartClient(*cluster.Cluster) error {
	return errors.New("grains: engines join as members only")
}

// Shutdown takes the member out: its lease is revoked, which deletes its record at
// once (the others see it leave now, not a TTL later), and the loops stop. Safe to
// call more than once.
func (p *etcdMembers) Shutdown(bool) error {
	var err error
	p.once.Do(func() {
		p.mu.Lock()
		p.leaving = true
		lease, cancel, done := p.lease, p.cancel, p.done
		p.mu.Unlock()
		if cancel == nil {
			return // never started
		}
		ctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		if _, rerr := p.cli.Revoke(ctx, lease); rerr != nil {
			err = fmt.Errorf("etcd: revoke the membership lease (the others drop this member when it runs out): %w", rerr)
		}
		cancel()
		<-done
	})
	return err
}

// close closes the etcd client (after the cluster has stopped).
func (p *etcdMembers) close() {
	p.mu.Lock()
	cli := p.cli
	p.cli = nil
	p.mu.Unlock()
	if cli != nil {
		cli.Close()
	}
}

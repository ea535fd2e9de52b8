package metrics

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

type fakeQueue int

func (q fakeQueue) UserMessageCount() int { return int(q) }

// trackAndDrop tracks a mailbox whose handle nobody keeps: a mailbox the actor system let go.
func trackAndDrop(k *ActorKind, n int) { k.Track(fakeQueue(n)) }

func TestMailboxDepthCountsReachableMailboxesOnly(t *testing.T) {
	t.Parallel()
	var k ActorKind
	kept := []*QueueHandle{k.Track(fakeQueue(3)), k.Track(fakeQueue(4))}
	trackAndDrop(&k, 100) // stranded messages of a stopped actor stop counting once collected
	runtime.GC()
	require.Equal(t, 7, k.mailboxes.sum())
	require.Len(t, k.mailboxes.live, 2, "collected mailboxes are pruned")
	runtime.KeepAlive(kept)
}

func TestMailboxSetStaysTheSizeOfTheLiveSet(t *testing.T) {
	t.Parallel()
	var k ActorKind
	for range 10000 { // activations come and go without a scrape
		trackAndDrop(&k, 1)
		if len(k.mailboxes.live) == 2000 {
			runtime.GC()
		}
	}
	require.Less(t, len(k.mailboxes.live), 10000, "adds prune collected entries")
}

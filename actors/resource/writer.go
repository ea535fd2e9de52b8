package resource

import (
	"context"
	"hash/fnv"
	"sync"
	"time"
)

// Writer commits the resource actors' writes in batches: each lane takes whatever writes
// are waiting (up to MaxBatch) and commits them in one transaction, then reports each
// outcome. An actor keeps processing while its writes are in flight and answers its caller
// only when the write is committed, so nothing is acknowledged before it is durable, and
// many actors share one commit. All writes of one resource go through the same lane, so
// they commit in the order the actor issued them.
type Writer struct {
	store    Store
	maxBatch int
	timeout  time.Duration
	lanes    []chan queued
	wg       sync.WaitGroup
}

type queued struct {
	w    Write
	done func(WriteResult)
}

// WriterConfig tunes a Writer.
type WriterConfig struct {
	Lanes    int           // parallel committers; default 4 (measured best on 2 cores)
	MaxBatch int           // writes per transaction at most; default 256
	Queue    int           // writes waiting per lane before Submit blocks; default 4096
	Timeout  time.Duration // per commit; default 10s
}

// NewWriter starts the lanes.
func NewWriter(store Store, cfg WriterConfig) *Writer {
	if cfg.Lanes <= 0 {
		cfg.Lanes = 4
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 256
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 4096
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	w := &Writer{store: store, maxBatch: cfg.MaxBatch, timeout: cfg.Timeout, lanes: make([]chan queued, cfg.Lanes)}
	for i := range w.lanes {
		w.lanes[i] = make(chan queued, cfg.Queue)
		w.wg.Add(1)
		go w.run(w.lanes[i])
	}
	return w
}

// Submit queues write for the lane of identity; done is called once it is committed or
// refused. Submit blocks when the lane is full: back-pressure on the actors.
func (w *Writer) Submit(identity string, write Write, done func(WriteResult)) {
	h := fnv.New32a()
	h.Write([]byte(identity))
	w.lanes[h.Sum32()%uint32(len(w.lanes))] <- queued{w: write, done: done}
}

// Close stops taking writes and waits until every queued one is committed.
func (w *Writer) Close() {
	for _, l := range w.lanes {
		close(l)
	}
	w.wg.Wait()
}

func (w *Writer) run(lane chan queued) {
	defer w.wg.Done()
	batch := make([]queued, 0, w.maxBatch)
	writes := make([]Write, 0, w.maxBatch)
	for first := range lane {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < w.maxBatch {
			select {
			case q, ok := <-lane:
				if !ok {
					break drain
				}
				batch = append(batch, q)
			default:
				break drain
			}
		}
		writes = writes[:0]
		for _, q := range batch {
			writes = append(writes, q.w)
		}
		ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
		results := w.store.Commit(ctx, writes)
		cancel()
		for i, q := range batch {
			q.done(results[i])
		}
	}
}

package tenant

import (
	"context"
	"sync"
)

// Cache keeps applied configs in memory for the actors, which read them on every start.
// An apply calls Invalidate before telling the actors, so they reload the new version.
type Cache struct {
	load func(ctx context.Context, id string) (*Config, error)

	mu      sync.Mutex
	configs map[string]*Config
}

// NewCache returns a cache filled on demand by load.
func NewCache(load func(ctx context.Context, id string) (*Config, error)) *Cache {
	return &Cache{load: load, configs: map[string]*Config{}}
}

// InvalidateAll drops every cached config (a node that lost track of the applies made
// on others: they are read again on use).
func (c *Cache) InvalidateAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.configs = map[string]*Config{}
}

// Tenant returns tenant id's config. The result is shared: callers must not modify it.
func (c *Cache) Tenant(ctx context.Context, id string) (*Config, error) {
	c.mu.Lock()
	cfg, ok := c.configs[id]
	c.mu.Unlock()
	if ok {
		return cfg, nil
	}
	cfg, err := c.load(ctx, id)
	if err != nil {
		return nil, err
	}
	cfg.Normalize()
	c.mu.Lock()
	c.configs[id] = cfg
	c.mu.Unlock()
	return cfg, nil
}

// Invalidate forgets tenant id's config.
func (c *Cache) Invalidate(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.configs, id)
}

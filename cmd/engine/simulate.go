package main

import (
	"context"
	"errors"
	"io"
)

// simulate plays the carrier or a customer against a running engine (issue: conversation).
func simulate(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	return errors.New("simulate: not built yet")
}

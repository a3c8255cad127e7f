package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/client"

	"github.com/complyflow/complyflow/internal/config"
	"github.com/complyflow/complyflow/internal/platform"
)

// Env opens what a subcommand needs, lazily, so `starter -h` and
// `program check` work with no database or Temporal at all.
type Env struct {
	Stdout, Stderr io.Writer

	cfg      *config.Config
	db       *sqlx.DB
	ownerDB  *sqlx.DB
	temporal client.Client
}

// Config reads the environment once.
func (e *Env) Config() (config.Config, error) {
	if e.cfg == nil {
		c, err := config.FromEnv()
		if err != nil {
			return config.Config{}, err
		}
		e.cfg = &c
	}
	return *e.cfg, nil
}

// DB connects as the application role.
func (e *Env) DB(ctx context.Context) (*sqlx.DB, error) {
	if e.db == nil {
		cfg, err := e.Config()
		if err != nil {
			return nil, err
		}
		if e.db, err = platform.OpenDB(ctx, cfg.DatabaseURL); err != nil {
			return nil, err
		}
	}
	return e.db, nil
}

// OwnerDB connects as the role that owns the tables (migrations only).
func (e *Env) OwnerDB(ctx context.Context) (*sqlx.DB, error) {
	if e.ownerDB == nil {
		cfg, err := e.Config()
		if err != nil {
			return nil, err
		}
		if e.ownerDB, err = platform.OpenDB(ctx, cfg.DatabaseOwnerURL); err != nil {
			return nil, err
		}
	}
	return e.ownerDB, nil
}

// Temporal connects to the Temporal frontend.
func (e *Env) Temporal() (client.Client, error) {
	if e.temporal == nil {
		cfg, err := e.Config()
		if err != nil {
			return nil, err
		}
		logger := slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		if e.temporal, err = platform.DialTemporal(cfg.TemporalAddress, cfg.TemporalNamespace, logger, nil); err != nil {
			return nil, err
		}
	}
	return e.temporal, nil
}

// TaskQueue is the queue the workflows the starter starts run on
// (TEMPORAL_TASK_QUEUE); it is read with the connection, so call it after
// Temporal succeeded.
func (e *Env) TaskQueue() string {
	if e.cfg == nil {
		return config.DefaultTaskQueue
	}
	return e.cfg.TaskQueue
}

// Close releases whatever was opened.
func (e *Env) Close() {
	if e.db != nil {
		e.db.Close()
	}
	if e.ownerDB != nil {
		e.ownerDB.Close()
	}
	if e.temporal != nil {
		e.temporal.Close()
	}
}

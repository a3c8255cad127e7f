package main

import (
	"log/slog"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/complyflow/complyflow/internal/config"
)

// Dependencies are what activities are built from.
type Dependencies struct {
	Config   config.Config
	DB       *sqlx.DB
	Temporal client.Client
	Logger   *slog.Logger
}

// Register puts every complyflow workflow and activity on the worker.
func Register(w worker.Registry, deps Dependencies) error {
	return nil
}

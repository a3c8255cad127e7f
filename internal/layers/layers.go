// Package layers states which way complyflow's imports point, and its test
// enforces it: binaries (portal, starter, worker) on top, then the program
// file and schedules, the process registry, the workflows (deterministic
// code, with the client helpers the binaries call), the activities (side
// effects), and at the bottom the look-ups and records every layer uses
// (directory, audit, policy, schema, internal/...). A package imports only
// from its own layer or below; nothing imports a binary.
package layers

// Layer is a package's rank: it may import packages of a lower or equal
// rank, never a higher one.
type Layer int

// The layers, from the bottom.
const (
	Foundation Layer = iota // directory, audit, policy, schema, internal/*
	Notify                  // activities/notify: reaching people
	Activities              // activities/<process>
	Workflows               // workflows, workflows/<process>
	Registry                // registry
	Program                 // program, schedules, internal/platform
	Binary                  // portal, starter, worker, cmd/*
)

// Module is complyflow's module path.
const Module = "github.com/complyflow/complyflow"

// prefixes gives the layer of each package by its path in the module; the
// longest matching prefix wins, and a package matching none is Foundation.
var prefixes = map[string]Layer{
	"activities/notify": Notify,
	"activities":        Activities,
	"workflows":         Workflows,
	"registry":          Registry,
	"program":           Program,
	"schedules":         Program,
	"internal/platform": Program,
	"internal/testenv":  Foundation,
	"portal":            Binary,
	"starter":           Binary,
	"worker":            Binary,
	"cmd":               Binary,
	"internal/layers":   Foundation,
	"internal/refusal":  Foundation,
	"internal/config":   Foundation,
	"internal/links":    Foundation,
	"internal/devmail":  Foundation,
	"directory":         Foundation,
	"audit":             Foundation,
	"policy":            Foundation,
	"schema":            Foundation,
}

// Of answers the layer of a package in the module, by its path relative to
// Module ("activities/policychange").
func Of(rel string) Layer {
	best, layer := -1, Foundation
	for p, l := range prefixes {
		if (rel == p || len(rel) > len(p) && rel[:len(p)+1] == p+"/") && len(p) > best {
			best, layer = len(p), l
		}
	}
	return layer
}

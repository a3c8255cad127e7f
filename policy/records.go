package policy

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"

	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/jmoiron/sqlx"
)

// ContentHash is the hex SHA-256 a version's text is identified by. A change
// that carries no text (only a summary or a reference) has no hash, rather
// than the hash of nothing, which would look like a text on record.
func ContentHash(body string) string {
	if body == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}

// Ref is a policy as a workflow needs to name it.
type Ref struct {
	ID      string `db:"id"`
	Title   string `db:"title"`
	OwnerID string `db:"owner_id"`
	Version string `db:"version"` // "" while unversioned; else "2023.2" or "2023.2 rev.1"
}

// Load reads a policy; an unknown ID is refused.
func Load(ctx context.Context, q sqlx.QueryerContext, id string) (Ref, error) {
	p, _, err := LoadWithStatus(ctx, q, id)
	return p, err
}

// LoadActive is Load refusing new work on a policy the program
// file deprecated: it stays on record but is no longer in force, so nothing
// changes it or excepts from it (the program file can bring it back).
func LoadActive(ctx context.Context, q sqlx.QueryerContext, id string) (Ref, error) {
	p, deprecated, err := LoadWithStatus(ctx, q, id)
	if err == nil && deprecated {
		return Ref{}, refusal.New("policy %q is deprecated: it is no longer in force (remove deprecated from the program file to bring it back)", id)
	}
	return p, err
}

// LoadWithStatus is Load, also answering whether the program file deprecated it.
func LoadWithStatus(ctx context.Context, q sqlx.QueryerContext, id string) (Ref, bool, error) {
	var row struct {
		Ref
		Deprecated bool `db:"deprecated"`
	}
	err := sqlx.GetContext(ctx, q, &row, `SELECT `+RefColumns+`, status = 'deprecated' AS deprecated FROM policies WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Ref{}, false, refusal.New("policy %q is not in the program", id)
	}
	return row.Ref, row.Deprecated, err
}

// RefColumns selects a Ref from policies.
const RefColumns = `id, title, owner_id,
	coalesce(version || CASE WHEN revision > 0 THEN ' rev.' || revision ELSE '' END, '') AS version`

// Package config reads complyflow's settings from the environment. Every
// default fits the embedded mode of `make run`, so a fresh checkout needs none.
package config

import (
	"fmt"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/complyflow/complyflow/internal/links"
)

// Config is every setting a complyflow process reads.
type Config struct {
	// DatabaseURL is the application's connection: a role that does not own
	// the tables, so row-level security and the audit log's grants apply.
	DatabaseURL string
	// DatabaseOwnerURL connects as the role that owns the tables; only
	// migrations use it. It defaults to DatabaseURL.
	DatabaseOwnerURL string
	// DatabasePortalURL is the portal's own role for signed-in pages: it owns
	// nothing, reads only, and row-level security filters every row it reads
	// by the person and role each request sets (schema/0017_accounts.sql).
	DatabasePortalURL string

	TemporalAddress   string
	TemporalNamespace string
	// TaskQueue is the task queue the worker polls and every process starts
	// on; a test gives each of its workers a queue of its own.
	TaskQueue string

	SMTPAddr     string
	SMTPFrom     string
	SMTPUsername string
	SMTPPassword string
	// SMTPPoolSize is how many connections the worker keeps open to the
	// mail server for campaigns' bulk sends.
	SMTPPoolSize int

	SlackBotToken      string
	SlackSigningSecret string
	// OIDCIssuer, OIDCClientID and OIDCClientSecret turn on single sign-on
	// with an OpenID Connect provider (portal/sso.go); empty: off.
	OIDCIssuer, OIDCClientID, OIDCClientSecret string
	SlackAPIURL                                string
	// SlackAnnounceChannel is where policy announcements are posted.
	SlackAnnounceChannel string

	PortalAddr    string
	PortalBaseURL string
	// LinkSigningKeys signs the links in emails. The first key signs; every
	// key verifies, so a rotated-out key keeps working for its grace period.
	LinkSigningKeys []links.Key
	// LinkTTL is how long a task link stays valid.
	LinkTTL time.Duration
	// EvidenceMaxBytes caps an uploaded evidence file (a vendor's report):
	// a larger one is refused with 413 before it is stored.
	EvidenceMaxBytes int64

	// DevMail runs the local SMTP sink (and /dev/mail) because no SMTP_ADDR was given.
	DevMail bool
	// DevMailDir is where the sink keeps what it receives.
	DevMailDir string
	// MetricsAddr serves the worker's Prometheus metrics at /metrics; empty
	// turns them off.
	MetricsAddr string

	// AuditSigningKey signs the audit log's checkpoints (Ed25519): a file
	// path or the key itself (AuditKey reads it). Empty in the embedded mode:
	// a key generated once into DevAuditSigningKeyFile.
	AuditSigningKey string
	// ConnectorSigningKey signs the bodies offboarding POSTs to systems'
	// webhooks (CONNECTOR_SIGNING_KEY, at least 16 characters). Empty: a
	// webhook's removal becomes a task to the system's owner, saying so.
	// The SCIM connectors' bearer tokens are read from the variables the
	// systems inventory names (scim_token_env).
	ConnectorSigningKey string
	// AuditCheckpointFile also receives each checkpoint, one JSON line each;
	// empty: the checkpoints go to the database only.
	AuditCheckpointFile string
}

// Defaults for the embedded mode.
const (
	DefaultDatabaseURL  = "postgres://complyflow_app:complyflow_app@127.0.0.1:5432/complyflow?sslmode=disable"
	DefaultOwnerURL     = "postgres://complyflow_owner:complyflow_owner@127.0.0.1:5432/complyflow?sslmode=disable"
	DefaultPortalURL    = "postgres://complyflow_portal:complyflow_portal@127.0.0.1:5432/complyflow?sslmode=disable"
	DefaultTemporal     = "127.0.0.1:7233"
	DefaultNamespace    = "default"
	DefaultTaskQueue    = "complyflow"
	DefaultDevSMTPAddr  = "127.0.0.1:1025"
	DefaultSMTPFrom     = "complyflow@localhost"
	DefaultPortalAddr   = "127.0.0.1:8080"
	DefaultLinkTTL      = 30 * 24 * time.Hour
	DefaultSMTPPoolSize = 4
	// DefaultEvidenceMaxBytes is EVIDENCE_MAX_BYTES unset: 50 MB.
	DefaultEvidenceMaxBytes = 50_000_000
	devLinkSigningKey       = "complyflow-dev-link-signing-key-change-me"
	DefaultSlackChannel     = "#security-policies"
	// DevAuditCheckpointFile is AUDIT_CHECKPOINT_FILE in the embedded mode.
	DevAuditCheckpointFile = ".data/audit_checkpoints.jsonl"
)

// FromEnv reads the environment. It fails only on values that are present and
// malformed, naming the variable.
func FromEnv() (Config, error) {
	c := Config{
		DatabaseURL:          env("DATABASE_URL", DefaultDatabaseURL),
		TemporalAddress:      env("TEMPORAL_ADDRESS", DefaultTemporal),
		TemporalNamespace:    env("TEMPORAL_NAMESPACE", DefaultNamespace),
		TaskQueue:            env("TEMPORAL_TASK_QUEUE", DefaultTaskQueue),
		SMTPAddr:             os.Getenv("SMTP_ADDR"),
		SMTPFrom:             env("SMTP_FROM", DefaultSMTPFrom),
		SMTPUsername:         os.Getenv("SMTP_USERNAME"),
		SMTPPassword:         os.Getenv("SMTP_PASSWORD"),
		SlackBotToken:        os.Getenv("SLACK_BOT_TOKEN"),
		SlackSigningSecret:   os.Getenv("SLACK_SIGNING_SECRET"),
		OIDCIssuer:           os.Getenv("OIDC_ISSUER"),
		OIDCClientID:         os.Getenv("OIDC_CLIENT_ID"),
		OIDCClientSecret:     os.Getenv("OIDC_CLIENT_SECRET"),
		SlackAPIURL:          os.Getenv("SLACK_API_URL"),
		SlackAnnounceChannel: env("SLACK_ANNOUNCE_CHANNEL", DefaultSlackChannel),
		PortalAddr:           env("PORTAL_ADDR", DefaultPortalAddr),
		MetricsAddr:          os.Getenv("METRICS_ADDR"),
		DevMailDir:           env("DEV_MAIL_DIR", ".data/mail"),
		LinkTTL:              DefaultLinkTTL,
		SMTPPoolSize:         DefaultSMTPPoolSize,
		EvidenceMaxBytes:     DefaultEvidenceMaxBytes,
		AuditSigningKey:      os.Getenv("AUDIT_SIGNING_KEY"),
		AuditCheckpointFile:  os.Getenv("AUDIT_CHECKPOINT_FILE"),
		ConnectorSigningKey:  os.Getenv("CONNECTOR_SIGNING_KEY"),
	}
	if k := c.ConnectorSigningKey; k != "" && len(k) < 16 {
		return Config{}, fmt.Errorf("CONNECTOR_SIGNING_KEY: must be at least 16 characters (webhook receivers verify the signature with it)")
	}
	c.DatabaseOwnerURL = env("DATABASE_OWNER_URL", c.DatabaseURL)
	if os.Getenv("DATABASE_URL") == "" {
		c.DatabaseOwnerURL = env("DATABASE_OWNER_URL", DefaultOwnerURL)
	}
	c.DatabasePortalURL = env("DATABASE_PORTAL_URL", DefaultPortalURL)
	// Checked here because every email would otherwise fail at send time,
	// long after start-up, with the process already committed to it.
	if _, err := mail.ParseAddress(c.SMTPFrom); err != nil {
		return Config{}, fmt.Errorf("SMTP_FROM: %q is not an address such as complyflow@example.com or \"Complyflow <complyflow@example.com>\"", c.SMTPFrom)
	}
	if c.SMTPAddr == "" {
		c.DevMail = true
		c.SMTPAddr = DefaultDevSMTPAddr
		if c.AuditCheckpointFile == "" {
			c.AuditCheckpointFile = DevAuditCheckpointFile
		}
	}
	c.PortalBaseURL = strings.TrimRight(env("PORTAL_BASE_URL", "http://"+c.PortalAddr), "/")
	keys := os.Getenv("LINK_SIGNING_KEY")
	if keys == "" {
		// The dev key is in the source: anyone could forge task links with it.
		// Only the embedded mode, whose mail never leaves this machine, may use it.
		if !c.DevMail {
			return Config{}, fmt.Errorf("LINK_SIGNING_KEY: required when SMTP_ADDR is set (links go out by real mail); set a random key of at least 16 characters")
		}
		keys = devLinkSigningKey
	}
	parsed, err := links.ParseKeys(keys)
	if err != nil {
		return Config{}, fmt.Errorf("LINK_SIGNING_KEY: %w", err)
	}
	for _, k := range parsed {
		if len(k.Secret) < 16 {
			return Config{}, fmt.Errorf("LINK_SIGNING_KEY: each comma-separated key must be at least 16 characters")
		}
	}
	c.LinkSigningKeys = parsed
	if err := c.checkEmbeddedOnLoopback(os.Getenv("LINK_SIGNING_KEY") == ""); err != nil {
		return Config{}, err
	}
	if v := os.Getenv("LINK_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("LINK_TTL: %q is not a positive duration such as 720h", v)
		}
		c.LinkTTL = d
	}
	if v := os.Getenv("SMTP_POOL_SIZE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 64 {
			return Config{}, fmt.Errorf("SMTP_POOL_SIZE: %q is not a number of connections from 1 to 64", v)
		}
		c.SMTPPoolSize = n
	}
	if v := os.Getenv("EVIDENCE_MAX_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return Config{}, fmt.Errorf("EVIDENCE_MAX_BYTES: %q is not a positive number of bytes such as 50000000", v)
		}
		c.EvidenceMaxBytes = n
	}
	return c, nil
}

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// checkEmbeddedOnLoopback refuses the embedded dev mode on an address other
// machines can reach: the dev link key is in the source (anyone could forge a
// link with it) and /dev/mail shows every signed link the portal mailed.
func (c Config) checkEmbeddedOnLoopback(devKey bool) error {
	if !c.DevMail && !devKey {
		return nil
	}
	if Loopback(c.PortalAddr) {
		return nil
	}
	why := "the local mail sink and /dev/mail (no SMTP_ADDR)"
	if devKey {
		why += " and the built-in dev LINK_SIGNING_KEY"
	}
	return fmt.Errorf("PORTAL_ADDR: %q is not a loopback address, and the embedded dev mode serves %s only on loopback, "+
		"since anyone who reaches the portal could read every link or forge one; "+
		"bind PORTAL_ADDR to 127.0.0.1:PORT, or set SMTP_ADDR and a random LINK_SIGNING_KEY (at least 16 characters)", c.PortalAddr, why)
}

// Loopback reports whether a listen address (host:port) binds only to this
// machine: localhost or a loopback IP. An empty host (":8080") is every interface.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

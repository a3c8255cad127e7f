// Package deploy_test reads docker-compose.yml against the rules it must keep
// (there is no Docker engine to run it here): what is published, which
// secrets are required, which container gets the owner's database URL, and
// that every image is pinned.
package deploy_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type compose struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Ports       []string          `yaml:"ports"`
		Environment map[string]string `yaml:"environment"`
	} `yaml:"services"`
}

func load(t *testing.T) (compose, string) {
	t.Helper()
	raw, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(raw, &c); err != nil { // resolves the x- anchors and merge keys
		t.Fatalf("docker-compose.yml: %v", err)
	}
	if len(c.Services) < 5 {
		t.Fatalf("docker-compose.yml lists %d services; it was not read", len(c.Services))
	}
	return c, string(raw)
}

// Only the portal is published to every interface; the Temporal UI (no
// sign-in) only to this machine; nothing else at all (Postgres, Temporal's
// frontend, Mailpit with every task link, metrics).
func TestComposePublishesOnlyThePortal(t *testing.T) {
	c, _ := load(t)
	for name, s := range c.Services {
		for _, p := range s.Ports {
			switch {
			case name == "portal" && p == "8080:8080":
			case name == "temporal-ui" && strings.HasPrefix(p, "127.0.0.1:"):
			default:
				t.Errorf("service %s publishes %q: only the portal is published (and the Temporal UI on 127.0.0.1)", name, p)
			}
		}
	}
	if len(c.Services["portal"].Ports) != 1 {
		t.Errorf("the portal publishes %v, want 8080", c.Services["portal"].Ports)
	}
}

// Every password and key comes from the environment and is required: no
// default a deployment could forget to change.
func TestComposeRequiresEverySecret(t *testing.T) {
	_, raw := load(t)
	refs := regexp.MustCompile(`\$\{([A-Z_]*(PASSWORD|KEY|SECRET|TOKEN)[A-Z_]*)(:?[-?][^}]*)?\}`).FindAllStringSubmatch(raw, -1)
	if len(refs) < 5 {
		t.Fatalf("found %d secret references; the pattern does not read the file", len(refs))
	}
	// Empty means "not used": no SMTP auth, no Slack, webhook and SCIM
	// removals handed to the systems' owners, no single sign-on.
	optional := []string{"SMTP_PASSWORD", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "CONNECTOR_SIGNING_KEY", "SCIM_TOKEN_OKTA", "OIDC_CLIENT_SECRET"}
	for _, r := range refs {
		if slices.Contains(optional, r[1]) {
			continue
		}
		if !strings.HasPrefix(r[3], ":?") {
			t.Errorf("${%s%s}: a secret must be required (${%s:?message})", r[1], r[3], r[1])
		}
	}
}

// Only the migrator connects as the owner of the tables.
func TestComposeGivesTheOwnerURLOnlyToTheMigrator(t *testing.T) {
	c, _ := load(t)
	for name, s := range c.Services {
		for k, v := range s.Environment {
			if (k == "DATABASE_OWNER_URL" || strings.Contains(v, "complyflow_owner:")) && name != "migrate" {
				t.Errorf("service %s gets the owner's database URL in %s", name, k)
			}
		}
	}
	if !strings.Contains(c.Services["migrate"].Environment["DATABASE_OWNER_URL"], "complyflow_owner") {
		t.Error("the migrator has no DATABASE_OWNER_URL")
	}
}

// Every image names a version: no latest, no bare name.
func TestComposePinsEveryImage(t *testing.T) {
	c, _ := load(t)
	for name, s := range c.Services {
		if s.Image == "" || s.Image == "complyflow:local" {
			continue // built from this repository
		}
		_, tag, ok := strings.Cut(s.Image, ":")
		if !ok || tag == "" || tag == "latest" || !regexp.MustCompile(`\d`).MatchString(tag) {
			t.Errorf("service %s: image %q is not pinned to a version", name, s.Image)
		}
	}
}

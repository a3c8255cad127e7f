package config

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultsFitTheEmbeddedMode(t *testing.T) {
	for _, v := range []string{"DATABASE_URL", "DATABASE_OWNER_URL", "SMTP_ADDR", "PORTAL_ADDR", "PORTAL_BASE_URL", "LINK_SIGNING_KEY", "LINK_TTL"} {
		t.Setenv(v, "")
	}
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if !c.DevMail || c.SMTPAddr != DefaultDevSMTPAddr {
		t.Errorf("no SMTP_ADDR: DevMail %v at %q, want the local sink", c.DevMail, c.SMTPAddr)
	}
	if c.DatabaseOwnerURL != DefaultOwnerURL || c.DatabaseURL != DefaultDatabaseURL {
		t.Errorf("database URLs %q / %q", c.DatabaseURL, c.DatabaseOwnerURL)
	}
	if c.PortalBaseURL != "http://127.0.0.1:8080" || c.LinkTTL != DefaultLinkTTL {
		t.Errorf("portal base %q, link TTL %v", c.PortalBaseURL, c.LinkTTL)
	}
}

func TestExplicitSettings(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://app@db/x")
	t.Setenv("DATABASE_OWNER_URL", "")
	t.Setenv("SMTP_ADDR", "mail:587")
	t.Setenv("PORTAL_BASE_URL", "https://comply.example.com/")
	t.Setenv("LINK_SIGNING_KEY", "new-key-0123456789, old-key-0123456789")
	t.Setenv("LINK_TTL", "48h")
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseOwnerURL != "postgres://app@db/x" {
		t.Errorf("owner URL %q, want DATABASE_URL when DATABASE_OWNER_URL is unset", c.DatabaseOwnerURL)
	}
	if c.DevMail || c.SMTPAddr != "mail:587" {
		t.Errorf("SMTP %q dev %v", c.SMTPAddr, c.DevMail)
	}
	if c.PortalBaseURL != "https://comply.example.com" {
		t.Errorf("base URL %q", c.PortalBaseURL)
	}
	if len(c.LinkSigningKeys) != 2 || string(c.LinkSigningKeys[1].Secret) != "old-key-0123456789" || c.LinkTTL != 48*time.Hour {
		t.Errorf("keys %q ttl %v", c.LinkSigningKeys, c.LinkTTL)
	}
}

func TestRealMailNeedsARealLinkKey(t *testing.T) {
	t.Setenv("SMTP_ADDR", "mail.example.com:587")
	t.Setenv("LINK_SIGNING_KEY", "")
	if _, err := FromEnv(); err == nil || !strings.HasPrefix(err.Error(), "LINK_SIGNING_KEY: required") {
		t.Fatalf("error %v, want LINK_SIGNING_KEY required", err)
	}
}

func TestMalformedSettingsNameTheVariable(t *testing.T) {
	for _, c := range []struct{ name, value string }{
		{"LINK_SIGNING_KEY", "short"},
		{"LINK_SIGNING_KEY", "new-key-0123456789abcdef, old-key-0123456789abcdef until someday"},
		{"LINK_TTL", "a month"},
		{"SMTP_FROM", "complyflow at example"},
		{"SMTP_POOL_SIZE", "0"},
		{"SMTP_POOL_SIZE", "four"},
	} {
		name := c.name
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, c.value)
			_, err := FromEnv()
			if err == nil || !strings.HasPrefix(err.Error(), name+":") {
				t.Fatalf("error %v, want one starting with %s:", err, name)
			}
		})
	}
}

func TestEmbeddedModeOnlyOnLoopback(t *testing.T) {
	for _, c := range []struct {
		addr, smtp, key string
		ok              bool
	}{
		{"127.0.0.1:8080", "", "", true},
		{"localhost:8080", "", "", true},
		{"[::1]:8080", "", "", true},
		{"0.0.0.0:8080", "", "", false},                           // dev key and /dev/mail on every interface
		{":8080", "", "", false},                                  // the same
		{"192.0.2.10:8080", "", "", false},                        // a routable address
		{"[::]:8080", "", "", false},                              //
		{"0.0.0.0:8080", "", "real-key-0123456789", false},        // /dev/mail alone shows every link
		{"0.0.0.0:8080", "mail:587", "real-key-0123456789", true}, // a real deployment
	} {
		t.Run(c.addr+"/"+c.smtp+"/"+c.key, func(t *testing.T) {
			t.Setenv("PORTAL_ADDR", c.addr)
			t.Setenv("SMTP_ADDR", c.smtp)
			t.Setenv("LINK_SIGNING_KEY", c.key)
			_, err := FromEnv()
			if c.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), "PORTAL_ADDR:") || !strings.Contains(err.Error(), "LINK_SIGNING_KEY") {
				t.Fatalf("error %v, want one naming PORTAL_ADDR and LINK_SIGNING_KEY", err)
			}
		})
	}
}

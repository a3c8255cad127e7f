package platform

import (
	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/internal/config"
)

// NewMailer is the Mailer the SMTP settings describe, for the worker and the
// portal alike.
func NewMailer(c config.Config) *notify.Mailer {
	return &notify.Mailer{Addr: c.SMTPAddr, From: c.SMTPFrom, Username: c.SMTPUsername, Password: c.SMTPPassword}
}

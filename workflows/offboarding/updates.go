package offboarding

import (
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"

	act "github.com/complyflow/complyflow/activities/offboarding"
	"github.com/complyflow/complyflow/directory"
)

// validateCancel admits a cancellation of an open offboarding, with a
// reason, by a manager up the person's chain or a security officer.
func (w *offboarding) validateCancel(req CancelRequest) error {
	switch {
	case w.st.Stage != act.StatusOpen || w.cancelled != nil:
		return fmt.Errorf("offboarding %s is %s and can no longer be cancelled", w.st.OffboardingID, w.st.Stage)
	case strings.TrimSpace(req.Reason) == "":
		return fmt.Errorf("a cancellation needs a reason (rehire, mistake, ...)")
	case len(w.plan.Cancellers) == 0:
		return fmt.Errorf("offboarding %s is still being opened; try again in a moment", w.st.OffboardingID)
	case !slices.Contains(w.plan.Cancellers, req.By):
		return fmt.Errorf("%s may not cancel offboarding %s: only %s may", req.By, w.st.OffboardingID, strings.Join(w.plan.Cancellers, ", "))
	}
	return nil
}

// cancel stops every removal step (their open tasks are cancelled) and
// returns once the cancellation is recorded.
func (w *offboarding) cancel(ctx workflow.Context, req CancelRequest) (Status, error) {
	if err := w.validateCancel(req); err != nil {
		return Status{}, err
	}
	req.Reason = strings.TrimSpace(req.Reason)
	w.cancelled = &req
	w.st.CancelledBy, w.st.CancelReason = req.By, req.Reason
	if err := workflow.Await(ctx, func() bool { return w.st.Stage == act.StatusCancelled }); err != nil {
		return Status{}, err
	}
	return w.st, nil
}

// validateCallback admits one answer per webhook system whose removal was
// called (its answer may arrive before the call's own result is recorded).
func (w *offboarding) validateCallback(req CallbackRequest) error {
	i := slices.IndexFunc(w.st.Systems, func(s SystemStatus) bool { return s.SystemID == req.SystemID })
	switch {
	case i < 0:
		return fmt.Errorf("system %q is not part of offboarding %s", req.SystemID, w.st.OffboardingID)
	case w.st.Systems[i].Method != directory.RemovalWebhook:
		return fmt.Errorf("system %s is removed by %s, not a webhook", req.SystemID, w.st.Systems[i].Method)
	case w.st.Systems[i].State != StateCalling && w.st.Systems[i].State != StateCallback:
		return fmt.Errorf("system %s is not waiting for a callback (it is %s)", req.SystemID, w.st.Systems[i].State)
	case req.Status == "":
		return fmt.Errorf(`a callback says {"status":"removed"}, or another status with a reason`)
	}
	if _, dup := w.callbacks[req.SystemID]; dup {
		return fmt.Errorf("system %s has already answered", req.SystemID)
	}
	return nil
}

func (w *offboarding) callback(ctx workflow.Context, req CallbackRequest) error {
	if err := w.validateCallback(req); err != nil {
		return err
	}
	w.callbacks[req.SystemID] = req
	return nil
}

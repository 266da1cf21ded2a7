package views

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/beckon-app/beckon/models"
)

// WebhookForm adds a webhook endpoint.
type WebhookForm struct {
	URL    string
	Events []string // the kinds ticked; none means all
	Errors FieldErrors
}

// Wants reports whether kind is ticked.
func (f WebhookForm) Wants(kind string) bool { return slices.Contains(f.Events, kind) }

// WebhookRow is one endpoint with its newest deliveries.
type WebhookRow struct {
	Endpoint   models.WebhookEndpoint
	Deliveries []models.WebhookDelivery
}

// WebhooksPage is /staff/webhooks.
type WebhooksPage struct {
	Form      WebhookForm
	Endpoints []WebhookRow
	// Secret is the signing secret of the endpoint just made (FreshID):
	// shown in this answer once, never again.
	Secret  string
	FreshID int64
	// AllowHTTP says http:// and private addresses are allowed
	// (BECKON_WEBHOOK_ALLOW_PRIVATE).
	AllowHTTP bool
}

func webhookPath(ep models.WebhookEndpoint, action string) string {
	return fmt.Sprintf("/staff/webhooks/%d/%s", ep.ID, action)
}

func webhookEventsText(ep models.WebhookEndpoint) string {
	if len(ep.Events) == 0 {
		return "All events"
	}
	return strings.Join(ep.Events, ", ")
}

// DeliveryOutcome is a delivery's last result as the log shows it.
func DeliveryOutcome(d models.WebhookDelivery) string {
	switch {
	case d.Status == models.WebhookDelivered:
		return "Delivered (" + strconv.Itoa(d.LastStatus) + ")"
	case d.Attempts == 0 && d.Status == models.WebhookQueued:
		return "Queued"
	case d.Status == models.WebhookFailed:
		return "Given up: " + d.LastError
	}
	return d.LastError + "; retry " + DateTime(d.NextAttemptAt)
}

func deliveryTime(d models.WebhookDelivery) string {
	if d.LastAttemptAt.IsZero() {
		return DateTime(d.CreatedAt)
	}
	return DateTime(d.LastAttemptAt)
}

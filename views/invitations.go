package views

import (
	"net/url"
	"strconv"
	"time"

	"github.com/beckon-app/beckon/models"
)

// InviteForm is the invite form's fields and messages.
type InviteForm struct {
	Email   string
	Note    string
	Label   string
	Errors  FieldErrors
	Problem string // a message for the whole form (rate limited)
	// NotBefore is when a member too new to invite may first do so; the
	// form then gives way to that sentence (zero: no wait).
	NotBefore time.Time
	// Closed, when set, says why this member may not invite at all (staff
	// turned their inviting off), shown in place of the form.
	Closed string
}

// InvitePanel is the signed-in member's home: counter, form and recent invitations.
type InvitePanel struct {
	User   models.User
	Form   InviteForm
	Recent SentList
}

// SentList is one page of a member's sent invitations.
type SentList struct {
	Invitations []models.Invitation
	Total       int
	Page        int
	PerPage     int
	Status      string    // the filter, "" for all
	Label       string    // the label filter, "" for any
	Now         time.Time // for the rows' relative times
}

// Pages is the number of pages.
func (s SentList) Pages() int {
	if s.PerPage <= 0 {
		return 1
	}
	return max((s.Total+s.PerPage-1)/s.PerPage, 1)
}

// PageURL links page n of the list with the same filter.
func (s SentList) PageURL(n int) string {
	q := url.Values{}
	if s.Status != "" {
		q.Set("status", s.Status)
	}
	if s.Label != "" {
		q.Set("label", s.Label)
	}
	if n > 1 {
		q.Set("page", strconv.Itoa(n))
	}
	if len(q) == 0 {
		return "/invitations"
	}
	return "/invitations?" + q.Encode()
}

// StatusURL links the list filtered by status, keeping the label filter.
func (s SentList) StatusURL(status string) string {
	return SentList{Status: status, Label: s.Label}.PageURL(1)
}

// StatusURL links the list filtered by status.
func StatusURL(status string) string {
	if status == "" {
		return "/invitations"
	}
	return "/invitations?status=" + url.QueryEscape(status)
}

// StatusLabel is how a status reads.
func StatusLabel(status string) string {
	switch status {
	case models.StatusJoinedIndependently:
		return "joined independently"
	default:
		return status
	}
}

// DeliveryFinal reports whether an invitation email's delivery state can no
// longer change by itself (sent, failed, bounced, cancelled), so its badge
// stops asking.
func DeliveryFinal(delivery string) bool {
	switch delivery {
	case models.DeliverySent, models.DeliveryFailed, models.DeliveryBounced, models.DeliveryCancelled:
		return true
	}
	return false
}

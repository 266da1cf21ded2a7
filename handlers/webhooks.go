package handlers

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
	"github.com/beckon-app/beckon/webhooks"
)

// webhookLogSize is how many deliveries each endpoint's log shows.
const webhookLogSize = 10

// staffWebhooks handles GET /staff/webhooks.
func (h *Handler) staffWebhooks(w http.ResponseWriter, r *http.Request) {
	h.renderWebhooks(w, r, http.StatusOK, views.WebhooksPage{})
}

func (h *Handler) renderWebhooks(w http.ResponseWriter, r *http.Request, status int, p views.WebhooksPage) {
	eps, err := h.store.Webhooks.List(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	for _, ep := range eps {
		log, err := h.store.Webhooks.Deliveries(r.Context(), ep.ID, webhookLogSize)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		p.Endpoints = append(p.Endpoints, views.WebhookRow{Endpoint: ep, Deliveries: log})
	}
	p.AllowHTTP = h.cfg.WebhookAllowPrivate
	h.render(w, r, status, views.StaffWebhooksPage(h.layout(r, "Webhooks"), p))
}

// staffWebhookCreatePost handles POST /staff/webhooks. The secret is shown
// in this answer and nowhere else, as a new API token is.
func (h *Handler) staffWebhookCreatePost(w http.ResponseWriter, r *http.Request) {
	staff, _ := currentUser(r)
	if err := r.ParseForm(); err != nil {
		h.badForm(w, r)
		return
	}
	var v models.Validator
	form := views.WebhookForm{}
	form.URL = webhooks.CheckURL(&v, "url", r.PostForm.Get("url"), h.cfg.WebhookAllowPrivate)
	for _, k := range r.PostForm["events"] {
		if !models.ValidEventKind(k) {
			v.Check(false, "events", "Choose events from the list.")
			continue
		}
		if !slices.Contains(form.Events, k) {
			form.Events = append(form.Events, k)
		}
	}
	if !v.Valid() {
		form.Errors = v.Errors
		h.renderWebhooks(w, r, http.StatusUnprocessableEntity, views.WebhooksPage{Form: form})
		return
	}
	ep, secret, err := h.store.Webhooks.Create(r.Context(), staff.ID, form.URL, form.Events)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.renderWebhooks(w, r, http.StatusCreated, views.WebhooksPage{Secret: secret, FreshID: ep.ID})
}

// webhookID reads {id}; an unknown one answers 404.
func (h *Handler) webhookID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		h.notFound(w, r)
		return 0, false
	}
	return id, true
}

// staffWebhookTestPost handles POST /staff/webhooks/{id}/test: a
// webhook_test event for that endpoint alone.
func (h *Handler) staffWebhookTestPost(w http.ResponseWriter, r *http.Request) {
	staff, _ := currentUser(r)
	id, ok := h.webhookID(w, r)
	if !ok {
		return
	}
	if _, err := h.store.Webhooks.SendTest(r.Context(), staff.ID, id); errors.Is(err, models.ErrNoRecord) {
		h.notFound(w, r)
		return
	} else if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.flash(r, "A test event is on its way. Reload to see how it went.")
	redirect(w, r, "/staff/webhooks")
}

// staffWebhookDeletePost handles POST /staff/webhooks/{id}/delete.
func (h *Handler) staffWebhookDeletePost(w http.ResponseWriter, r *http.Request) {
	id, ok := h.webhookID(w, r)
	if !ok {
		return
	}
	if err := h.store.Webhooks.Delete(r.Context(), id); errors.Is(err, models.ErrNoRecord) {
		h.notFound(w, r)
		return
	} else if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.flash(r, "The endpoint is deleted.")
	redirect(w, r, "/staff/webhooks")
}

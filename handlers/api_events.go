package handlers

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/beckon-app/beckon/models"
)

const eventsPageSize = 50

type jsonEvent struct {
	ID        int64           `json:"id"`
	Type      string          `json:"type"`
	CreatedAt string          `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// apiEventList handles GET /api/v1/events?after={id}&limit={1..100}: the
// events after a cursor, oldest first. Staff see every event; a member the
// events they made and those of the invitations they sent.
func (h *Handler) apiEventList(w http.ResponseWriter, r *http.Request) {
	u := apiUser(r)
	q := r.URL.Query()
	fields := map[string]string{}
	var after int64
	if s := q.Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			fields["after"] = "Use an event id, or the next_cursor of a previous page."
		}
		after = n
	}
	limit := eventsPageSize
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > models.MaxFeedPage {
			fields["limit"] = "Give a whole number from 1 to " + strconv.Itoa(models.MaxFeedPage) + "."
		}
		limit = n
	}
	if len(fields) > 0 {
		apiValidation(w, fields)
		return
	}
	evs, err := h.store.Events.Feed(r.Context(), u.ID, u.IsStaff(), after, limit+1)
	if err != nil {
		h.apiServerError(w, r, err)
		return
	}
	var next *string
	if len(evs) > limit {
		evs = evs[:limit]
		c := strconv.FormatInt(evs[len(evs)-1].ID, 10)
		next = &c
	}
	out := make([]jsonEvent, 0, len(evs))
	for _, ev := range evs {
		out = append(out, jsonEvent{ID: ev.ID, Type: ev.Kind, CreatedAt: rfc3339(ev.At), Data: ev.Data})
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out, "next_cursor": next})
}

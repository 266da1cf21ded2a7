package handlers

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

// Who may make shareable links (BECKON_LINKS); "" in Config means LinksMembers.
const (
	LinksMembers = "members"
	LinksStaff   = "staff"
	LinksOff     = "off"
)

// The refusals of the links pages.
var (
	errLinksOff = declare(&models.Error{Code: "links_disabled", Kind: models.KindForbidden, Title: "Links are off",
		Message: "Shareable links are turned off on {site}."})
	errLinksStaffOnly = declare(&models.Error{Code: "links_disabled", Kind: models.KindForbidden, Title: "Links are for staff",
		Message: "Only staff may make shareable links on {site}."})
)

// linksRefusal is why u may not use shareable links, or nil when they may.
func (h *Handler) linksRefusal(u models.User) error {
	switch h.cfg.Links {
	case LinksOff:
		return errLinksOff
	case LinksStaff:
		if !u.IsStaff() {
			return errLinksStaffOnly
		}
	}
	return nil
}

// linksPanel reads what GET /links shows for u, with form.
func (h *Handler) linksPanel(r *http.Request, u models.User, form views.LinkForm) (views.LinksPanel, error) {
	links, err := h.store.Links.List(r.Context(), u.ID)
	return views.LinksPanel{User: u, Form: form, Links: links, BaseURL: h.cfg.BaseURL,
		DefaultHours: int(h.store.Links.DefaultExpiry() / time.Hour)}, err
}

// renderLinks answers with the links page, or for htmx the panel and the
// counters.
func (h *Handler) renderLinks(w http.ResponseWriter, r *http.Request, status int, u models.User, form views.LinkForm) {
	p, err := h.linksPanel(r, u, form)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if wantsFragment(r) {
		h.render(w, r, status, views.LinksChanged(p))
		return
	}
	l := h.layout(r, "Shareable links")
	l.User = u
	h.render(w, r, status, views.LinksPage(l, p))
}

// linkList handles GET /links: the member's links, with uses left, who
// joined through each, and each open link's address.
func (h *Handler) linkList(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	if err := h.linksRefusal(u); err != nil {
		h.fail(w, r, err, models.Facts{})
		return
	}
	h.renderLinks(w, r, http.StatusOK, u, views.LinkForm{})
}

// decodeLinkForm reads uses, expires_in (hours, optional) and label.
func decodeLinkForm(uses, expiresIn, label string) (views.LinkForm, int, int, bool) {
	form := views.LinkForm{Uses: strings.TrimSpace(uses), ExpiresIn: strings.TrimSpace(expiresIn), Label: strings.TrimSpace(label)}
	var v models.Validator
	n, err := strconv.Atoi(form.Uses)
	if err != nil {
		n = -1
	}
	hours := 0
	if form.ExpiresIn != "" {
		if hours, err = strconv.Atoi(form.ExpiresIn); err != nil || hours < 1 {
			hours = -1
		}
	}
	models.CheckLink(&v, n, hours, form.Label)
	form.Errors = v.Errors
	return form, n, hours, v.Valid()
}

// linkCreatePost handles POST /links: a new link, holding its uses.
func (h *Handler) linkCreatePost(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	if err := h.linksRefusal(u); err != nil {
		h.fail(w, r, err, models.Facts{})
		return
	}
	if err := r.ParseForm(); err != nil {
		h.badForm(w, r)
		return
	}
	if !u.Verified() {
		h.fail(w, r, models.ErrNotVerified, models.Facts{})
		return
	}
	form, uses, hours, ok := decodeLinkForm(r.PostForm.Get("uses"), r.PostForm.Get("expires_in"), r.PostForm.Get("label"))
	if !ok {
		h.renderLinks(w, r, http.StatusUnprocessableEntity, u, form)
		return
	}
	_, alloc, err := h.store.Links.Create(r.Context(), u, uses, time.Duration(hours)*time.Hour, form.Label)
	if field, msg, status, isField := fieldError(err, models.Facts{}, "uses"); isField {
		form.Errors = views.FieldErrors{field: msg}
		h.renderLinks(w, r, status, u, form)
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	u.Allocation = alloc
	if !wantsFragment(r) {
		h.flash(r, "Your link is ready: copy its address below.")
		redirect(w, r, "/links")
		return
	}
	h.renderLinks(w, r, http.StatusOK, u, views.LinkForm{})
}

// linkClosePost handles POST /links/{id}/close: nobody else can join
// through it, and its unused invitations come back.
func (h *Handler) linkClosePost(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	if err := h.linksRefusal(u); err != nil {
		h.fail(w, r, err, models.Facts{})
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		h.notFound(w, r)
		return
	}
	l, alloc, err := h.store.Links.Close(r.Context(), u.ID, id)
	if err != nil {
		h.fail(w, r, err, models.Facts{})
		return
	}
	u.Allocation = alloc
	if !wantsFragment(r) {
		h.flash(r, "Closed the link; you have "+strconv.Itoa(l.Uses-l.Used)+" invitations back.")
		redirect(w, r, "/links")
		return
	}
	h.renderLinks(w, r, http.StatusOK, u, views.LinkForm{})
}

// linkFacts is what the messages about a shareable link may name.
func linkFacts(l models.Link) models.Facts {
	return models.Facts{What: "invitation", Inviter: l.CreatorDisplay(), Date: l.ExpiresAt}
}

// linkJoinShow is GET /join/{token} for a token that is no invitation's:
// a shareable link's page, or 404. It changes nothing.
func (h *Handler) linkJoinShow(w http.ResponseWriter, r *http.Request, token string) {
	l, err := h.store.Links.LookupToken(r.Context(), token)
	if err == nil && h.cfg.Links == LinksOff {
		err = errLinksOff
	}
	if err == nil {
		// Joining paused holds for shareable links too (SPEC 11).
		err = h.store.Settings.CheckJoiningOpen(r.Context())
	}
	if err != nil {
		h.fail(w, r, err, linkFacts(l))
		return
	}
	layout := h.layout(r, "You are invited")
	if layout.SignedIn() {
		h.render(w, r, http.StatusOK, views.LinkJoinSignedInPage(layout, l))
		return
	}
	h.render(w, r, http.StatusOK, views.LinkJoinPage(layout, l, token, views.SignupForm{}))
}

// linkJoinPost is POST /join/{token} for a shareable link: the checks of a
// normal signup, then the account and the link's accepted invitation in
// one transaction; the new member's address awaits confirmation.
func (h *Handler) linkJoinPost(w http.ResponseWriter, r *http.Request, token string) {
	l, err := h.store.Links.LookupToken(r.Context(), token)
	if err == nil && h.cfg.Links == LinksOff {
		err = errLinksOff
	}
	if err == nil {
		// Joining paused holds for shareable links too (SPEC 11).
		err = h.store.Settings.CheckJoiningOpen(r.Context())
	}
	if err != nil {
		h.fail(w, r, err, linkFacts(l))
		return
	}
	if _, ok := currentUser(r); ok {
		h.render(w, r, http.StatusOK, views.LinkJoinSignedInPage(h.layout(r, "You are invited"), l))
		return
	}
	nu, form, ok := h.decodeSignup(w, r)
	if !ok {
		if form.Errors != nil {
			h.render(w, r, http.StatusUnprocessableEntity, views.LinkJoinPage(h.layout(r, "You are invited"), l, token, form))
		}
		return
	}
	// The visitor's own address: one that no invitation could reach is refused.
	if err := h.store.Settings.CheckSignupDomain(r.Context(), nu.Email); signupConflict(err, &form) {
		h.render(w, r, http.StatusUnprocessableEntity, views.LinkJoinPage(h.layout(r, "You are invited"), l, token, form))
		return
	} else if err != nil {
		h.serverError(w, r, err)
		return
	}
	u, l, err := h.store.Links.Join(r.Context(), token, nu)
	if signupConflict(err, &form) {
		h.render(w, r, http.StatusUnprocessableEntity, views.LinkJoinPage(h.layout(r, "You are invited"), l, token, form))
		return
	}
	if err != nil {
		h.fail(w, r, err, linkFacts(l))
		return
	}
	h.welcome(w, r, u, "Welcome to "+h.cfg.SiteName+", "+u.DisplayName()+"! We sent a link to "+u.Email+" to confirm your address.")
}

// The API.

type apiLinkRequest struct {
	Uses           *int            `json:"uses"`
	ExpiresInHours json.RawMessage `json:"expires_in_hours"`
	Label          string          `json:"label"`
}

type jsonLink struct {
	ID        int64         `json:"id"`
	URL       *string       `json:"url"`
	Uses      int           `json:"uses"`
	UsesLeft  int           `json:"uses_left"`
	ExpiresAt string        `json:"expires_at"`
	Label     string        `json:"label"`
	Status    string        `json:"status"`
	Joined    []jsonUserRef `json:"joined"`
}

func (h *Handler) toJSONLink(l models.Link) jsonLink {
	j := jsonLink{ID: l.ID, Uses: l.Uses, UsesLeft: l.UsesLeft(), ExpiresAt: rfc3339(l.ExpiresAt), Label: l.Label,
		Status: l.Status, Joined: []jsonUserRef{}}
	if l.Token != "" {
		u := h.cfg.BaseURL + "/join/" + l.Token
		j.URL = &u
	}
	for _, m := range l.Joined {
		j.Joined = append(j.Joined, jsonUserRef{ID: m.ID, Username: m.Username})
	}
	return j
}

// apiLinkCreate handles POST /api/v1/links.
func (h *Handler) apiLinkCreate(w http.ResponseWriter, r *http.Request) {
	u := apiUser(r)
	if err := h.linksRefusal(u); err != nil {
		h.apiFail(w, r, err, models.Facts{})
		return
	}
	var req apiLinkRequest
	if !h.decodeJSON(w, r, &req) {
		return
	}
	uses := -1
	if req.Uses != nil {
		uses = *req.Uses
	}
	label := strings.TrimSpace(req.Label)
	var v models.Validator
	hours, present, ok := jsonInt(req.ExpiresInHours)
	if present && (!ok || hours < 1) {
		hours = -1
	}
	models.CheckLink(&v, uses, hours, label)
	if msg, bad := v.Errors["expires_in"]; bad {
		delete(v.Errors, "expires_in")
		v.Errors["expires_in_hours"] = msg
	}
	if !v.Valid() {
		apiValidation(w, v.Errors)
		return
	}
	if !u.Verified() {
		h.apiFail(w, r, models.ErrNotVerified, models.Facts{})
		return
	}
	l, _, err := h.store.Links.Create(r.Context(), u, uses, time.Duration(hours)*time.Hour, label)
	if err != nil {
		h.apiFail(w, r, err, models.Facts{})
		return
	}
	writeJSON(w, http.StatusCreated, h.toJSONLink(l))
}

// apiLinkList handles GET /api/v1/links: the caller's latest links.
func (h *Handler) apiLinkList(w http.ResponseWriter, r *http.Request) {
	u := apiUser(r)
	if err := h.linksRefusal(u); err != nil {
		h.apiFail(w, r, err, models.Facts{})
		return
	}
	links, err := h.store.Links.List(r.Context(), u.ID)
	if err != nil {
		h.apiServerError(w, r, err)
		return
	}
	out := make([]jsonLink, 0, len(links))
	for _, l := range links {
		out = append(out, h.toJSONLink(l))
	}
	writeJSON(w, http.StatusOK, map[string]any{"links": out})
}

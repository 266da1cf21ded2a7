package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

// tokens handles GET /settings/tokens.
func (h *Handler) tokens(w http.ResponseWriter, r *http.Request) {
	h.renderTokens(w, r, http.StatusOK, views.TokenForm{}, "")
}

func (h *Handler) renderTokens(w http.ResponseWriter, r *http.Request, status int, form views.TokenForm, fresh string) {
	u, _ := currentUser(r)
	list, err := h.store.APITokens.List(r.Context(), u.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, status, views.TokensPage(h.layout(r, "API tokens"), list, form, fresh))
}

// tokenCreatePost handles POST /settings/tokens. The new token is shown in
// this answer and nowhere else: not in a flash (the session is stored in the
// database), not in a redirect.
func (h *Handler) tokenCreatePost(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	if err := r.ParseForm(); err != nil {
		h.badForm(w, r)
		return
	}
	form := views.TokenForm{Name: strings.TrimSpace(r.PostForm.Get("name"))}
	if !u.Verified() {
		// The page says why in place of the form; models refuses too.
		h.renderTokens(w, r, http.StatusForbidden, form, "")
		return
	}
	var v models.Validator
	models.CheckTokenName(&v, "name", form.Name)
	if !v.Valid() {
		form.Errors = v.Errors
		h.renderTokens(w, r, http.StatusUnprocessableEntity, form, "")
		return
	}
	token, _, err := h.store.APITokens.Create(r.Context(), u.ID, form.Name)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.renderTokens(w, r, http.StatusCreated, views.TokenForm{}, token)
}

// tokenRevokePost handles POST /settings/tokens/{id}/revoke.
func (h *Handler) tokenRevokePost(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		h.notFound(w, r)
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		// Without JavaScript nothing asked yet: ask on a page first.
		h.tokenRevokeConfirm(w, r, u, id)
		return
	}
	if err := h.store.APITokens.Revoke(r.Context(), u.ID, id); errors.Is(err, models.ErrNoRecord) {
		h.notFound(w, r)
		return
	} else if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.flash(r, "The token is revoked.")
	redirect(w, r, "/settings/tokens")
}

// tokenRevokeConfirm asks before token id of u is revoked: the answer to a
// revoke posted without confirm=yes (a browser without JavaScript).
func (h *Handler) tokenRevokeConfirm(w http.ResponseWriter, r *http.Request, u models.User, id int64) {
	list, err := h.store.APITokens.List(r.Context(), u.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	for _, t := range list {
		if t.ID == id {
			h.render(w, r, http.StatusOK, views.ConfirmPage(h.layout(r, "Revoke a token"), views.Confirm{TestID: "token-revoke-confirm",
				Heading: "Revoke this token?", Question: "Programs that use the token “" + t.Name + "” stop working at once. This cannot be undone.",
				Action: views.TokenRevokePath(t), Hidden: [][2]string{{"confirm", "yes"}}, Submit: "Yes, revoke it", Danger: true, Cancel: "/settings/tokens"}))
			return
		}
	}
	h.notFound(w, r)
}

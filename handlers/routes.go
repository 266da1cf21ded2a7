package handlers

import (
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/beckon-app/beckon/models"
)

// Routes is the whole URL map: every route, its middleware and who may call it.
func (h *Handler) Routes() http.Handler {
	r := chi.NewRouter()
	r.Use(h.recoverPanic, h.logRequests, h.secureHeaders(), h.crossOriginProtection())
	r.NotFound(h.notFound)
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, errMethodNotAllowed, models.Facts{})
	})

	// Outside the session middleware: health checks and static files.
	r.Get("/healthz", h.healthz)
	r.Handle("/static/*", http.StripPrefix("/static/", h.assets.serve(h.notFound)))

	// The JSON API: bearer tokens, no sessions or cookies.
	r.Route("/api/v1", func(r chi.Router) {
		r.NotFound(h.apiNotFound)
		r.MethodNotAllowed(h.apiMethodNotAllowed)
		r.Get("/openapi.json", h.apiOpenAPI)
		r.Post("/invite/{token}", h.apiInviteJoin) // the invitation token is the credential
		r.Group(func(r chi.Router) {
			r.Use(h.apiAuth)
			r.Post("/invite/", h.apiInviteCreate)
			r.Get("/me", h.apiMe)
			r.Get("/invitations", h.apiInvitationList)
			r.Get("/invitations/{id}", h.apiInvitationShow)
			r.Delete("/invitations/{id}", h.apiInvitationRevoke)
			r.Post("/invitations/{id}/resend", h.apiInvitationResend)
			r.Get("/events", h.apiEventList)
			r.Post("/links", h.apiLinkCreate)
			r.Get("/links", h.apiLinkList)
			r.Group(func(r chi.Router) {
				r.Use(h.apiStaff)
				r.Post("/staff/topoff", h.apiStaffTopOff)
				r.Post("/staff/addto", h.apiStaffAddTo)
				r.Post("/staff/users/{id}/topoff", h.apiStaffUserTopOff)
				r.Post("/staff/users/{id}/addto", h.apiStaffUserAddTo)
				r.Get("/staff/users/{id}/stat", h.apiStaffUserStat)
				r.Get("/staff/stats", h.apiStaffStats)
				r.Post("/staff/users/{id}/suspend", h.apiStaffUserSuspend)
				r.Post("/staff/users/{id}/unsuspend", h.apiStaffUserUnsuspend)
				r.Post("/staff/users/{id}/inviting", h.apiStaffUserInviting)
			})
		})
	})

	// Pages: sessions, the signed-in user, small bodies.
	r.Group(func(r chi.Router) {
		r.Use(limitBody(64<<10), h.sessions.LoadAndSave, h.loadUser)

		// Anyone.
		r.Get("/", h.home)
		r.Get("/login", h.login)
		r.Post("/login", h.loginPost)
		r.Post("/logout", h.logoutPost)
		r.Get("/signup", h.signup)
		r.Post("/signup", h.signupPost)
		r.Get("/setup", h.setup)
		r.Post("/setup", h.setupPost)
		r.Get("/confirm-email/{token}", h.confirmEmail)
		r.Post("/confirm-email/{token}", h.confirmEmailPost)
		r.Get("/password/forgot", h.passwordForgot)
		r.Post("/password/forgot", h.passwordForgotPost)
		r.Get("/password/reset/{token}", h.passwordReset)
		r.Post("/password/reset/{token}", h.passwordResetPost)
		r.Get("/join/{token}", h.joinShow)
		r.Post("/join/{token}", h.joinPost)
		r.Post("/join/{token}/decline", h.joinDeclinePost)
		r.Get("/optout/{token}", h.optOut)
		r.Post("/optout/{token}", h.optOutPost)
		r.Get("/request", h.requestForm)
		r.Post("/request", h.requestFormPost)
		r.Get("/request/confirm/{token}", h.requestConfirm)
		r.Post("/request/confirm/{token}", h.requestConfirmPost)

		// Members.
		r.Group(func(r chi.Router) {
			r.Use(h.requireUser)
			r.Get("/settings", h.settings)
			r.Post("/settings", h.settingsPost)
			r.Post("/settings/password", h.settingsPasswordPost)
			r.Post("/settings/confirm-email", h.settingsConfirmEmailPost)
			r.Get("/settings/tokens", h.tokens)
			r.Post("/settings/tokens", h.tokenCreatePost)
			r.Post("/settings/tokens/{id}/revoke", h.tokenRevokePost)
			r.Post("/invitations", h.invitationCreatePost)
			r.Get("/invitations", h.invitationList)
			r.Get("/invitations/{id}/delivery", h.invitationDelivery)
			r.Post("/invitations/{id}/resend", h.invitationResendPost)
			r.Get("/invitations/{id}/revoke", h.invitationRevokeConfirm)
			r.Post("/invitations/{id}/revoke", h.invitationRevokePost)
			r.Get("/links", h.linkList)
			r.Post("/links", h.linkCreatePost)
			r.Post("/links/{id}/close", h.linkClosePost)
			r.Get("/u/{username}", h.profileShow)
			r.Get("/tree", h.tree)
			r.Get("/tree/{id}", h.treeInvitees)
		})

		// Staff: the staff or superuser flag, or manage_invites.
		r.Group(func(r chi.Router) {
			r.Use(h.requireUser, h.requireStaff)
			r.Get("/staff", h.staffDashboard)
			r.Get("/staff/confirm", h.staffBulkConfirm)
			r.Post("/staff/topoff", h.staffTopOffPost)
			r.Post("/staff/addto", h.staffAddToPost)
			r.Post("/staff/unlimited", h.staffUnlimitedPost)
			r.Get("/staff/users", h.staffUsers)
			r.Get("/staff/users/{id}/stat", h.staffUserStat)
			r.Post("/staff/users/{id}/topoff", h.staffUserTopOffPost)
			r.Post("/staff/users/{id}/addto", h.staffUserAddToPost)
			r.Post("/staff/users/{id}/unlimited", h.staffUserUnlimitedPost)
			r.Get("/staff/users/{id}", h.staffUserShow)
			r.Post("/staff/users/{id}/suspend", h.staffUserSuspendPost)
			r.Post("/staff/users/{id}/unsuspend", h.staffUserUnsuspendPost)
			r.Post("/staff/users/{id}/inviting", h.staffUserInvitingPost)
			r.Get("/staff/users/{id}/subtree", h.staffUserSubtree)
			r.Post("/staff/users/{id}/subtree/revoke", h.staffUserSubtreeRevokePost)
			r.Post("/staff/users/{id}/subtree/suspend", h.staffUserSubtreeSuspendPost)
			r.Get("/staff/invitations", h.staffInvitations)
			r.Get("/staff/invitations/{id}/revoke", h.staffInvitationRevokeConfirm)
			r.Post("/staff/invitations/{id}/revoke", h.staffInvitationRevokePost)
			r.Get("/staff/audit", h.staffAudit)
			r.Get("/staff/settings", h.staffSettings)
			r.Post("/staff/settings", h.staffSettingsPost)
			r.Get("/staff/invitations/expire-all", h.staffExpireAllConfirm)
			r.Post("/staff/invitations/expire-all", h.staffExpireAllPost)
			r.Get("/staff/requests", h.staffRequests)
			r.Post("/staff/requests/{id}/approve", h.staffRequestApprovePost)
			r.Post("/staff/requests/{id}/decline", h.staffRequestDeclinePost)
			r.Get("/staff/invite", h.staffBulkInvite)
			r.Get("/staff/invite/{id}", h.staffBulkJob)
			r.Get("/staff/webhooks", h.staffWebhooks)
			r.Post("/staff/webhooks", h.staffWebhookCreatePost)
			r.Post("/staff/webhooks/{id}/test", h.staffWebhookTestPost)
			r.Post("/staff/webhooks/{id}/delete", h.staffWebhookDeletePost)
		})
	})

	// The bulk invitation form: a list of up to 1,000 rows, or a CSV file,
	// is larger than the other forms.
	r.Group(func(r chi.Router) {
		r.Use(limitBody(bulkMaxBody), h.sessions.LoadAndSave, h.loadUser, h.requireUser, h.requireStaff)
		r.Post("/staff/invite", h.staffBulkInvitePost)
	})
	return r
}

// crossOriginProtection refuses state-changing requests that a browser marks
// as cross-site (Sec-Fetch-Site, or an Origin that is not this site) with 403:
// the CSRF defence of every form. Requests without those headers (curl, the
// API's clients) are not from a browser and pass.
func (h *Handler) crossOriginProtection() func(http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	if u, err := url.Parse(h.cfg.BaseURL); err == nil && u.Host != "" {
		// Behind a proxy the Host header may differ from the public origin.
		cop.AddTrustedOrigin(u.Scheme + "://" + u.Host)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, errCrossSite, models.Facts{})
	}))
	return cop.Handler
}

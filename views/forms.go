package views

// LoginForm is the sign-in form.
type LoginForm struct {
	Login string
	Next  string // where to go after signing in
	Error string // the one generic error
}

// SignupForm is the account form of signup, setup and joining by invitation.
type SignupForm struct {
	Email    string
	Username string
	Name     string
	Errors   FieldErrors
}

// EmailForm asks for an address (forgotten password).
type EmailForm struct {
	Email  string
	Errors FieldErrors
}

// PasswordForm sets a new password (reset, settings).
type PasswordForm struct {
	Token  string // for the reset form
	Errors FieldErrors
}

// ProfileForm changes the display name and whether the member is emailed
// when someone joins through their invitation.
type ProfileForm struct {
	Name        string
	NotifyJoins bool
	Errors      FieldErrors
}

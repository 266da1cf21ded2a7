package models

// APITokens is the API bearer tokens table group.
type APITokens struct{ *core }

package rdssim

import (
	"net/http"
	"strings"
)

// apiError is an answer AWS gives as an <ErrorResponse>: the code the SDK
// maps to a typed fault, a message for people, and the HTTP status.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

// newError builds an error whose HTTP status follows from its code, as
// AWS's does: 404 for what does not exist, 403 for refused credentials,
// 400 for everything the caller can fix.
func newError(code, message string) *apiError {
	return &apiError{status: statusFor(code), code: code, message: message}
}

func statusFor(code string) int {
	switch {
	case code == "AccessDenied" || code == "ExpiredToken" || code == "InvalidClientTokenId":
		return http.StatusForbidden
	case strings.HasSuffix(code, "NotFound") || strings.HasSuffix(code, "NotFoundFault"):
		return http.StatusNotFound
	case code == "InternalFailure":
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// errorType is AWS's <Type>: Sender for the caller's mistakes, Receiver
// for AWS's own failures.
func (e *apiError) errorType() string {
	if e.status >= 500 {
		return "Receiver"
	}
	return "Sender"
}

func errMissing(param string) *apiError {
	return newError("MissingParameter", "The request must contain the parameter "+param)
}

func errInvalid(message string) *apiError {
	return newError("InvalidParameterValue", message)
}

func errCombination(message string) *apiError {
	return newError("InvalidParameterCombination", message)
}

func errInstanceNotFound(id string) *apiError {
	return newError("DBInstanceNotFound", "DBInstance "+clip(id)+" not found.")
}

func errSnapshotNotFound(id string) *apiError {
	return newError("DBSnapshotNotFound", "DBSnapshot "+clip(id)+" not found.")
}

func errBackupNotFound(what string) *apiError {
	return newError("DBInstanceAutomatedBackupNotFound", "No automated backup was found for "+clip(what)+".")
}

func errAlreadyExists() *apiError {
	return newError("DBInstanceAlreadyExists", "DB instance already exists")
}

func errNotAvailable() *apiError {
	return newError("InvalidDBInstanceState", "Database instance is not in available state.")
}

// clip shortens caller-supplied text echoed in a message, so that a huge
// parameter cannot make a huge answer.
func clip(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

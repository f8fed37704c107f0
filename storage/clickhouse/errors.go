package clickhouse

import (
	"errors"
	"fmt"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

var (
	// ErrClosed is returned by a closed DB or Writer.
	ErrClosed = errors.New("clickhouse: closed")
	// ErrBadDatabase rejects a database name that is not [A-Za-z0-9_].
	ErrBadDatabase = errors.New("clickhouse: bad database name")
	// ErrCorruptSegment marks a spool segment that cannot be decoded.
	ErrCorruptSegment = errors.New("clickhouse: corrupt spool segment")
)

// ServerError is an exception returned by the ClickHouse server: the query
// reached it and it refused or failed it (syntax, unknown table, timeout,
// readonly). Other errors are transport or client errors.
type ServerError struct {
	Code    int32
	Name    string
	Message string
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("code: %d, message: %s", e.Code, e.Message)
}

// asServerError converts a clickhouse-go exception into *ServerError, and
// returns other errors unchanged.
func asServerError(err error) error {
	var ex *ch.Exception
	if errors.As(err, &ex) {
		return &ServerError{Code: ex.Code, Name: ex.Name, Message: ex.Message}
	}
	return err
}

// isServerError reports whether err carries a server exception.
func isServerError(err error) bool {
	var ex *ch.Exception
	var se *ServerError
	return errors.As(err, &ex) || errors.As(err, &se)
}

package query

import "errors"

var (
	// ErrEmptyQuery means the request had no SQL.
	ErrEmptyQuery = errors.New("empty query")
	// ErrNotReadOnly rejects a statement that is not a read.
	ErrNotReadOnly = errors.New("only read queries are allowed (SELECT, SHOW, DESCRIBE, DESC, EXISTS, WITH ... SELECT)")
	// ErrMultiStatement rejects more than one statement.
	ErrMultiStatement = errors.New("only one statement is allowed")
	// ErrUnterminated rejects an unterminated string, quoted identifier or
	// comment.
	ErrUnterminated = errors.New("unterminated")
)

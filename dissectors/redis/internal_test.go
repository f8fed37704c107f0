package redis

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKnownCommand(t *testing.T) {
	require.True(t, knownCommand([]byte("lrange")))
	require.True(t, knownCommand([]byte("RESTORE-ASKING")))
	require.False(t, knownCommand([]byte("hello world")))
	require.False(t, knownCommand([]byte(strings.Repeat("A", 40))))
	require.False(t, knownCommand(nil))
}

func TestCommandLike(t *testing.T) {
	require.True(t, commandLike([]byte("JSON.GET")))
	require.True(t, commandLike([]byte("CONFIG|GET")))
	require.False(t, commandLike([]byte("1GET")))
	require.False(t, commandLike([]byte("GE T")))
	require.False(t, commandLike(nil))
}

package chserver

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"text/template"
)

// layout is where a server keeps its files under DataDir.
type layout struct {
	DataDir    string
	ConfigFile string
	UsersFile  string
	PIDFile    string
	DataPath   string
	TmpPath    string
	UserFiles  string
	FormatPath string
	LogDir     string
	LogFile    string
	ErrLogFile string
	StdoutFile string
}

func newLayout(dataDir string) layout {
	logDir := filepath.Join(dataDir, "log")
	return layout{
		DataDir:    dataDir,
		ConfigFile: filepath.Join(dataDir, "config.xml"),
		UsersFile:  filepath.Join(dataDir, "users.xml"),
		PIDFile:    filepath.Join(dataDir, "clickhouse-server.pid"),
		DataPath:   filepath.Join(dataDir, "data") + "/",
		TmpPath:    filepath.Join(dataDir, "tmp") + "/",
		UserFiles:  filepath.Join(dataDir, "user_files") + "/",
		FormatPath: filepath.Join(dataDir, "format_schemas") + "/",
		LogDir:     logDir,
		LogFile:    filepath.Join(logDir, "clickhouse-server.log"),
		ErrLogFile: filepath.Join(logDir, "clickhouse-server.err.log"),
		StdoutFile: filepath.Join(logDir, "stdout.log"),
	}
}

// configTmpl is valid for 18.16 and for current releases, which still read
// the <yandex> root. The caches are kept small: the embedded server shares
// the machine with capture.
var configTmpl = template.Must(template.New("config").Funcs(template.FuncMap{"x": xmlEscape}).Parse(`<?xml version="1.0"?>
<!-- Written by tapflow storage/chserver; rewritten on every start. -->
<yandex>
    <logger>
        <level>{{x .LogLevel}}</level>
        <log>{{x .L.LogFile}}</log>
        <errorlog>{{x .L.ErrLogFile}}</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>{{.TCPPort}}</tcp_port>
    <http_port>{{.HTTPPort}}</http_port>
    <path>{{x .L.DataPath}}</path>
    <tmp_path>{{x .L.TmpPath}}</tmp_path>
    <user_files_path>{{x .L.UserFiles}}</user_files_path>
    <format_schema_path>{{x .L.FormatPath}}</format_schema_path>
    <users_config>{{x .L.UsersFile}}</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <max_connections>1024</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <mlock_executable>false</mlock_executable>
    <remote_servers>
        <tapflow>
            <shard>
                <replica>
                    <host>127.0.0.1</host>
                    <port>{{.TCPPort}}</port>
                </replica>
            </shard>
        </tapflow>
    </remote_servers>
</yandex>
`))

var usersTmpl = template.Must(template.New("users").Parse(`<?xml version="1.0"?>
<!-- Written by tapflow storage/chserver; rewritten on every start. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>{{.MaxMemoryUsage}}</max_memory_usage>
            <load_balancing>random</load_balancing>
            <!-- Idle connections check for shutdown this often (seconds);
                 the default 10 makes every stop with a client pool open
                 take 10s. -->
            <poll_interval>1</poll_interval>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
`))

type configData struct {
	L              layout
	TCPPort        int
	HTTPPort       int
	LogLevel       string
	MaxMemoryUsage int64
}

func xmlEscape(s string) (string, error) {
	var b bytes.Buffer
	if err := xml.EscapeText(&b, []byte(s)); err != nil {
		return "", err
	}
	return b.String(), nil
}

// writeConfig writes config.xml and users.xml and creates the directories
// the server expects.
func writeConfig(d configData) error {
	for _, dir := range []string{d.L.DataPath, d.L.TmpPath, d.L.UserFiles, d.L.FormatPath, d.L.LogDir} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
	}
	for _, f := range []struct {
		path string
		tmpl *template.Template
	}{{d.L.ConfigFile, configTmpl}, {d.L.UsersFile, usersTmpl}} {
		var b bytes.Buffer
		if err := f.tmpl.Execute(&b, d); err != nil {
			return fmt.Errorf("render %s: %w", f.path, err)
		}
		if err := os.WriteFile(f.path, b.Bytes(), 0o640); err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	return nil
}

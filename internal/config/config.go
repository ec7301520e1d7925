// Package config loads and validates camrelay's YAML configuration file.
//
// The file names the cameras and the limits; flags and environment variables
// cover the rest (see the README next to this file for every key). Values may
// take text from the environment with ${VAR} or ${VAR:-default}, so tokens
// stay out of the file. Load and Parse report every problem in the file at
// once, each as FILE:LINE: KEY: what is wrong (what to do), in an *Error.
//
// A *Config is plain data: it is safe to read from many goroutines, and the
// caller owns it once Load, Parse, Default or Demo returns it.
package config

import (
	"fmt"
	"os"
	"time"
)

// Source kinds: the value of a camera's source key, naming how camrelay
// reaches that camera.
const (
	// SourcePush is a camera that dials the gateway's uplink WebSocket
	// (/cam/{id}/ingest) and pushes JPEG frames.
	SourcePush = "push"
	// SourceSerial is a camera on a UART link (camrelay's framed packets).
	SourceSerial = "serial"
	// SourceMJPEG is a camera that serves multipart MJPEG over HTTP, such as
	// the stock CameraWebServer sketch on port 81.
	SourceMJPEG = "mjpeg"
	// SourceJPEG is a camera polled for one JPEG per request.
	SourceJPEG = "jpeg"
	// SourceWSPull is a camera that runs a WebSocket server and sends one
	// JPEG per binary message to whoever connects.
	SourceWSPull = "ws-pull"
	// SourceDemo is a built-in test pattern; it needs no hardware.
	SourceDemo = "demo"
)

// Defaults and bounds. The bounds keep a typo (an extra zero, a missing
// unit) from turning into a gateway that eats all memory or never times out.
const (
	defaultListen    = ":8080"
	defaultLogFormat = "text"
	defaultLogLevel  = "info"

	defaultMaxFrameBytes = 4 << 20
	minFrameBytes        = 1 << 10
	maxFrameBytes        = 64 << 20

	defaultWriteTimeout     = 10 * time.Second
	defaultHandshakeTimeout = 10 * time.Second
	defaultReadTimeout      = 10 * time.Second
	minTimeout              = 100 * time.Millisecond
	maxTimeout              = 10 * time.Minute

	defaultOfflineAfter = 5 * time.Second
	minOfflineAfter     = 100 * time.Millisecond
	maxOfflineAfter     = time.Hour

	defaultRing = 8
	minRing     = 1
	maxRing     = 256

	defaultFreshFor = 3 * time.Second
	maxFreshFor     = time.Hour

	defaultIdleAfter = 30 * time.Second
	maxIdleAfter     = 24 * time.Hour

	defaultMaxViewersPerCamera = 1000
	defaultMaxConnsPerClient   = 64
	defaultMaxAuthFailures     = 10
	defaultAuthFailureForgive  = 10 * time.Second
	maxAuthFailures            = 10_000
	defaultMaxViewers          = 5000
	maxViewers                 = 1_000_000

	defaultMaxViewerMessage = 4 << 10
	minViewerMessage        = 256
	maxViewerMessage        = 1 << 20

	defaultMaxFPSIn = 60
	maxFPSIn        = 1000

	maxIDLen = 64

	defaultBaud = 115200
	minBaud     = 9600
	maxBaud     = 3_000_000

	defaultInterval = time.Second
	minInterval     = 50 * time.Millisecond
	maxInterval     = time.Hour

	defaultFPS    = 20
	minFPS        = 1
	maxFPS        = 60
	defaultWidth  = 640
	defaultHeight = 480
	minSide       = 16
	maxWidth      = 3840
	maxHeight     = 2160
	sideStep      = 16
)

// Config is camrelay's whole configuration.
type Config struct {
	// Path is the file the configuration came from; "" for a built-in one.
	Path string
	// Listen is the HTTP listen address, host:port. Default ":8080".
	Listen string
	// AdminToken guards camera control. Empty turns control off. It is a
	// secret: never log it.
	AdminToken string
	// AdminTokenHash is AdminToken stored as "sha256:<hex>" (camrelay hash
	// token); at most one of the two is set.
	AdminTokenHash string
	// Viewers, when it has users or a token, makes the page, the viewer
	// sockets, MJPEG, snapshots and /api/cameras ask for a credential.
	// Empty (the default) leaves them open.
	Viewers Viewers
	// MetricsToken, when set, is required as "Authorization: Bearer" on
	// /metrics; MetricsTokenHash is the same as "sha256:<hex>". Empty (the
	// default) leaves /metrics open.
	MetricsToken, MetricsTokenHash string
	// TrustedProxies are reverse proxies (IP addresses or CIDR networks)
	// whose X-Forwarded-For names the client for the per-address limits.
	// Empty (the default) believes no header.
	TrustedProxies []string
	// TLSCert and TLSKey are PEM files; both set serves HTTPS, and SIGHUP
	// reloads them. Empty (the default) serves plain HTTP.
	TLSCert, TLSKey string
	// LogFormat is "text" (the default) or "json".
	LogFormat string
	// LogLevel is "debug", "info" (the default), "warn" or "error".
	LogLevel string
	// AllowedOrigins are extra Origins allowed for browser WebSockets, as
	// patterns for coder/websocket's AcceptOptions.OriginPatterns. Empty
	// means same-origin only.
	AllowedOrigins []string
	// Limits bounds what the gateway accepts and holds.
	Limits Limits
	// Cameras are the configured cameras, in file order. May be empty.
	Cameras []Camera
	// Cluster joins this gateway to others over NATS; nil (the default)
	// means a single gateway.
	Cluster *Cluster

	// pos remembers where each value came from in the file, so that
	// Validate can name the line of a value the caller left unchanged.
	pos map[string]origin
}

// Limits bounds what the gateway accepts and holds. Default returns every
// field set to its default. Load copies OfflineAfter and MaxFrameBytes into
// each camera that does not override them; a caller that changes them after
// Load must update those cameras too.
type Limits struct {
	// MaxFrameBytes is the largest JPEG accepted from a camera, in bytes.
	// Default 4 MiB; allowed 1 KiB to 64 MiB.
	MaxFrameBytes int64
	// WriteTimeout is how long one write to a viewer may stall before the
	// viewer is disconnected. Default 10 s; allowed 100 ms to 10 min.
	WriteTimeout time.Duration
	// HandshakeTimeout bounds a WebSocket or HTTP handshake. Default 10 s;
	// allowed 100 ms to 10 min.
	HandshakeTimeout time.Duration
	// ReadTimeout is how long a pulled link (mjpeg, ws-pull, jpeg) may send
	// nothing before it counts as stalled and is reconnected: a camera that
	// loses power leaves a TCP connection that never closes by itself.
	// Default 10 s; allowed 100 ms to 10 min.
	ReadTimeout time.Duration
	// OfflineAfter is how long a camera may stay silent before it is shown
	// offline. Default 5 s; allowed 100 ms to 1 h.
	OfflineAfter time.Duration
	// Ring is how many recent frames are kept per camera. Default 8;
	// allowed 1 to 256.
	Ring int
	// FreshFor is the age below which a new viewer gets the newest frame at
	// once instead of waiting for the next one. Default 3 s; allowed 0 (always
	// wait) to 1 h.
	FreshFor time.Duration
	// MaxViewersPerCamera caps viewers of one camera. Default 1000; allowed
	// 1 to 1,000,000.
	MaxViewersPerCamera int
	// MaxViewers caps viewers of all cameras together. Default 5000; allowed
	// 1 to 1,000,000.
	MaxViewers int
	// IdleAfter is how long a camera may have no viewers before the gateway
	// tells it to drop to its idle rate. Default 30 s; allowed 0 (never) to
	// 24 h.
	IdleAfter time.Duration
	// MaxViewerMessageBytes is the largest text message a viewer may send
	// on its WebSocket; a larger one closes the viewer with 1009. Default
	// 4 KiB; allowed 256 B to 1 MiB.
	MaxViewerMessageBytes int64
	// MaxFPSIn is how many frames per second one camera link may deliver;
	// frames over the rate are dropped (reason "rate") and the link stays
	// up. Default 60; allowed 0 (no limit) to 1000.
	MaxFPSIn int
	// MaxConnsPerClient caps the requests and connections (viewers,
	// uplinks) open at once from one client address. Default 64; 0 means
	// no cap; allowed up to 1,000,000.
	MaxConnsPerClient int
	// MaxAuthFailures is how many wrong credentials one client address may
	// send before it gets 429 for a while. Default 10; allowed 1 to 10,000.
	MaxAuthFailures int
	// AuthFailureForgive is how often one failure of an address is
	// forgiven: a refused address may try again after this long. Default
	// 10 s; allowed 100 ms to 1 h.
	AuthFailureForgive time.Duration
}

// Viewers are the credentials that let someone watch. Each is a secret:
// never log it.
type Viewers struct {
	// Users sign in with HTTP Basic (browsers, VLC, Home Assistant).
	Users []User
	// Token is accepted as "Authorization: Bearer", ?token= or the cookie
	// the page sets; TokenHash is the same as "sha256:<hex>". At most one.
	Token, TokenHash string
}

// User is one viewer with a password: exactly one of Password and
// PasswordHash (bcrypt, from camrelay hash password) is set.
type User struct {
	Name, Password, PasswordHash string
}

// Camera is one configured camera. Which fields apply depends on Source;
// Load rejects a key that does not belong to the camera's source, and
// Validate rejects such a field when it is not zero.
type Camera struct {
	// ID names the camera in URLs (/cam/{id}). Required: lowercase letters,
	// digits and '-', at most 64 characters, unique.
	ID string
	// Name is the display name. Load sets it to ID when the file has none.
	Name string
	// Source is one of the Source constants. Required.
	Source string

	// Token is the bearer token a push camera must present. Required for
	// push unless Insecure. It is a secret: never log it.
	Token string
	// TokenHash is Token stored as "sha256:<hex>"; at most one of the two.
	TokenHash string
	// Insecure lets a push camera uplink without a token.
	Insecure bool

	// Device is the serial port of a serial camera, e.g. /dev/ttyUSB0.
	// Required for serial.
	Device string
	// Baud is the serial line rate. Default 115200; allowed 9600 to
	// 3,000,000.
	Baud int

	// URL is where an mjpeg, jpeg or ws-pull camera is fetched:
	// http(s):// for mjpeg and jpeg, ws(s):// for ws-pull. Required for
	// those sources.
	URL string
	// ControlURL is the optional HTTP base of the camera's control API (the
	// stock CameraWebServer's /control, /status). mjpeg, jpeg and ws-pull
	// only.
	ControlURL string

	// Interval is how often a jpeg camera is polled. Default 1 s; allowed
	// 50 ms to 1 h, and shorter than the camera's OfflineAfter.
	Interval time.Duration

	// FPS is the demo pattern's frame rate. Default 20; allowed 1 to 60.
	FPS int
	// Width is the demo pattern's width in pixels. Default 640; allowed 16
	// to 3840 in steps of 16.
	Width int
	// Height is the demo pattern's height in pixels. Default 480; allowed 16
	// to 2160 in steps of 16.
	Height int

	// OfflineAfter overrides Limits.OfflineAfter for this camera. Zero means
	// Limits.OfflineAfter; Load fills it in.
	OfflineAfter time.Duration
	// MaxFrameBytes overrides Limits.MaxFrameBytes for this camera. Zero
	// means Limits.MaxFrameBytes; Load fills it in.
	MaxFrameBytes int64
}

// Default returns a configuration with every default set and no cameras.
func Default() *Config {
	return &Config{
		Listen:    defaultListen,
		LogFormat: defaultLogFormat,
		LogLevel:  defaultLogLevel,
		Limits: Limits{
			MaxFrameBytes:       defaultMaxFrameBytes,
			WriteTimeout:        defaultWriteTimeout,
			HandshakeTimeout:    defaultHandshakeTimeout,
			ReadTimeout:         defaultReadTimeout,
			OfflineAfter:        defaultOfflineAfter,
			Ring:                defaultRing,
			FreshFor:            defaultFreshFor,
			MaxViewersPerCamera: defaultMaxViewersPerCamera,
			MaxViewers:          defaultMaxViewers,
			IdleAfter:           defaultIdleAfter,

			MaxViewerMessageBytes: defaultMaxViewerMessage,
			MaxFPSIn:              defaultMaxFPSIn,
			MaxConnsPerClient:     defaultMaxConnsPerClient,
			MaxAuthFailures:       defaultMaxAuthFailures,
			AuthFailureForgive:    defaultAuthFailureForgive,
		},
	}
}

// Demo returns Default plus one built-in demo camera, "demo", at 20 fps and
// 640x480: what camrelay runs with --demo and no file.
func Demo() *Config {
	c := Default()
	c.Cameras = []Camera{{
		ID:     "demo",
		Name:   "Demo",
		Source: SourceDemo,
		FPS:    defaultFPS,
		Width:  defaultWidth,
		Height: defaultHeight,
	}}
	c.inherit()
	return c
}

// Load reads the file at path and parses it with Parse. getenv supplies
// ${VAR} values; nil treats every variable as unset. An unreadable file is an
// error wrapping the os error; a bad file is an *Error listing every problem.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data, getenv)
}

// Parse decodes and validates a configuration file. name is the file's name,
// used in messages and kept as Config.Path. getenv supplies ${VAR} values;
// nil treats every variable as unset, and so does an empty value.
// ${VAR:-default} gives a default and $$ a literal $; expansion happens in
// values only, after YAML parsing, so a value cannot add YAML syntax.
//
// Keys the file leaves out take their defaults, and each camera's
// OfflineAfter and MaxFrameBytes are filled in from Limits when the camera
// does not override them. An empty file, or one without cameras, is valid.
// On any problem Parse returns a nil *Config and an *Error listing every
// problem found.
func Parse(name string, data []byte, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	d := newDecoder(name, getenv)
	c := Default()
	c.Path = name
	d.decode(data, c)
	c.pos = d.pos

	problems := d.problems
	for _, p := range c.check() {
		if !d.wasReported(p.Key) {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		return nil, newError(problems)
	}
	c.inherit()
	return c, nil
}

// Camera returns the camera with the given id, and whether there is one.
func (c *Config) Camera(id string) (Camera, bool) {
	for _, cam := range c.Cameras {
		if cam.ID == id {
			return cam, true
		}
	}
	return Camera{}, false
}

// inherit fills each camera's zero OfflineAfter and MaxFrameBytes from
// Limits, so that users of a Camera need not know about the fallback.
func (c *Config) inherit() {
	for i := range c.Cameras {
		cam := &c.Cameras[i]
		if cam.OfflineAfter == 0 {
			cam.OfflineAfter = c.Limits.OfflineAfter
		}
		if cam.MaxFrameBytes == 0 {
			cam.MaxFrameBytes = c.Limits.MaxFrameBytes
		}
	}
}

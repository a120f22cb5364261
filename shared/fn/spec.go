package fn

import (
	"fmt"
	"time"
)

// Spec describes a function for deployment: the one description from which the AWS
// serverless.yml and the Tencent SCF configs are generated, so that the two cannot drift.
type Spec struct {
	// Name is the function's name; it is also its directory under functions/ and its local route.
	Name string
	// Description is one line for the deployment consoles.
	Description string
	// URL says whether the function has a public function URL (SCF function URL, Lambda function URL).
	URL bool
	// Schedules are its timer triggers.
	Schedules []ScheduleSpec
	// MemoryMB and Timeout size the function; zero means the project defaults (128 MB, 10 s).
	MemoryMB int
	Timeout  time.Duration
	// Settings are the environment variables the function reads, beyond the common ones.
	Settings []string
	// MaxBodyBytes bounds request bodies; zero means DefaultMaxBody.
	MaxBodyBytes int64
}

// DefaultMaxBody is the request-body bound for functions that do not set one.
const DefaultMaxBody = 256 << 10

// BodyLimit returns the function's request-body bound.
func (s Spec) BodyLimit() int64 {
	if s.MaxBodyBytes > 0 {
		return s.MaxBodyBytes
	}
	return DefaultMaxBody
}

// ScheduleSpec is one timer trigger. Exactly one of Every and Daily is set.
type ScheduleSpec struct {
	// Name identifies the trigger; it arrives as Schedule.Name.
	Name string
	// Every fires at a fixed interval (whole minutes).
	Every time.Duration
	// Daily fires once a day at this wall-clock time ("10:30") in Asia/Shanghai.
	Daily string
}

// DailyUTC returns the UTC hour and minute of a Daily schedule (Asia/Shanghai is UTC+8 with no
// daylight saving, so the conversion is fixed).
func (s ScheduleSpec) DailyUTC() (hour, minute int, err error) {
	t, err := time.Parse("15:04", s.Daily)
	if err != nil {
		return 0, 0, fmt.Errorf("schedule %s: daily time %q: %w", s.Name, s.Daily, err)
	}
	h := (t.Hour() - 8 + 24) % 24
	return h, t.Minute(), nil
}

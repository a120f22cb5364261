package deploy

import (
	"fmt"
	"time"

	"github.com/wxfn/wxfn/shared/fn"
)

// SCFTimerUTCOffset is the time zone, in hours east of UTC, in which we assume SCF evaluates a
// timer's cron expression. The SCF timer doc read for the reference does not say; the CloudBase
// and mini-program cloud docs built on the same timers say UTC+8 (Beijing time), which is also
// what the console shows. Daily schedules are written for this offset; if a test trigger ever
// shows otherwise, change this one constant and regenerate (infra/scf/README.md).
const SCFTimerUTCOffset = 8

// resolveSchedule checks one timer trigger and works out its expression on both clouds. Both
// expressions must fire at the same moments, so only intervals that divide an hour or a day
// evenly are accepted (a cron field cannot express "every 7 minutes" without a drift at the
// hour boundary, while EventBridge's rate() could).
func resolveSchedule(s fn.ScheduleSpec) (schedule, error) {
	fail := func(format string, args ...any) (schedule, error) {
		return schedule{}, fmt.Errorf("schedule %q: %s", s.Name, fmt.Sprintf(format, args...))
	}
	if !triggerName.MatchString(s.Name) {
		return fail("name must start with a letter and hold at most 60 of A-Z a-z 0-9 - _ (SCF trigger name rules)")
	}
	switch {
	case s.Every != 0 && s.Daily != "":
		return fail("sets both Every and Daily")
	case s.Daily != "":
		h, m, err := s.DailyUTC()
		if err != nil {
			return fail("%v", err)
		}
		return schedule{
			name:        s.Name,
			description: fmt.Sprintf("daily at %s Asia/Shanghai", s.Daily),
			eventBridge: fmt.Sprintf("cron(%d %d * * ? *)", m, h),
			scfCron:     fmt.Sprintf("0 %d %d * * * *", m, (h+SCFTimerUTCOffset)%24),
			daily:       true,
		}, nil
	case s.Every > 0:
		if s.Every%time.Minute != 0 {
			return fail("interval %v is not a whole number of minutes", s.Every)
		}
		minutes := int(s.Every / time.Minute)
		switch {
		case minutes < 60 && 60%minutes == 0:
			r := schedule{name: s.Name, description: fmt.Sprintf("every %d minutes", minutes)}
			r.eventBridge = fmt.Sprintf("rate(%d minutes)", minutes)
			r.scfCron = fmt.Sprintf("0 */%d * * * * *", minutes)
			if minutes == 1 {
				r.description = "every minute"
				r.eventBridge = "rate(1 minute)"
				r.scfCron = "0 * * * * * *"
			}
			return r, nil
		case minutes%60 == 0 && minutes < 24*60 && 24%(minutes/60) == 0:
			hours := minutes / 60
			r := schedule{name: s.Name, description: fmt.Sprintf("every %d hours", hours)}
			r.eventBridge = fmt.Sprintf("rate(%d hours)", hours)
			r.scfCron = fmt.Sprintf("0 0 */%d * * * *", hours)
			if hours == 1 {
				r.description = "every hour"
				r.eventBridge = "rate(1 hour)"
				r.scfCron = "0 0 * * * * *"
			}
			return r, nil
		}
		return fail("interval %v must divide an hour (1-30 min) or a day (1-12 h); use Daily for once a day", s.Every)
	default:
		return fail("sets neither a positive Every nor Daily")
	}
}

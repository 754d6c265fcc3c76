package loop

import "time"

// clock caches, per loop, the current time as an HTTP Date header value
// and as a common-log-format timestamp, reformatted at most once a second.
type clock struct {
	second int64
	date   []byte // "Mon, 02 Jan 2006 15:04:05 GMT"
	common []byte // "02/Jan/2006:15:04:05 +0000"
}

const (
	httpDateLayout   = "Mon, 02 Jan 2006 15:04:05 GMT"
	commonTimeLayout = "02/Jan/2006:15:04:05 -0700"
)

func newClock(now time.Time) clock {
	c := clock{
		second: -1,
		date:   make([]byte, 0, len(httpDateLayout)),
		common: make([]byte, 0, len(commonTimeLayout)),
	}
	c.update(now)
	return c
}

func (c *clock) update(now time.Time) {
	s := now.Unix()
	if s == c.second {
		return
	}
	c.second = s
	utc := now.UTC()
	c.date = utc.AppendFormat(c.date[:0], httpDateLayout)
	c.common = utc.AppendFormat(c.common[:0], commonTimeLayout)
}

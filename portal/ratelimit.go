package main

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"sync"
	"time"
)

// A rate is a token bucket's shape: Burst requests at once, then one more
// every Every.
type rate struct {
	Burst int
	Every time.Duration
}

func (r rate) String() string {
	return fmt.Sprintf("%d at once, then one every %v", r.Burst, r.Every)
}

// The change-request form sends mail in complyflow's name, so it is limited
// per person ID named (whoever exists or not) and per client address.
var (
	changeRequestPerRequester = rate{Burst: 5, Every: 10 * time.Minute}
	changeRequestPerAddress   = rate{Burst: 20, Every: time.Minute}
)

// limiter is an in-memory token bucket per key (a person ID, a client
// address). It forgets full buckets once it holds many keys, so its memory
// stays bounded by the rate at which new keys can spend tokens.
type limiter struct {
	rate rate
	now  func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

const limiterMaxKeys = 10_000

func newLimiter(r rate) *limiter {
	return &limiter{rate: r, now: time.Now, buckets: map[string]*bucket{}}
}

// allow takes a token for key; when there is none it returns false and how
// long until one is back.
func (l *limiter) allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= limiterMaxKeys {
			l.forgetFull(now)
		}
		b = &bucket{tokens: float64(l.rate.Burst), at: now}
		l.buckets[key] = b
	}
	b.tokens = l.refilled(b, now)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(l.rate.Every))
}

func (l *limiter) refilled(b *bucket, now time.Time) float64 {
	return math.Min(float64(l.rate.Burst), b.tokens+float64(now.Sub(b.at))/float64(l.rate.Every))
}

// forgetFull drops the buckets that have refilled: forgetting them changes nothing.
func (l *limiter) forgetFull(now time.Time) {
	for k, b := range l.buckets {
		if l.refilled(b, now) >= float64(l.rate.Burst) {
			delete(l.buckets, k)
		}
	}
}

// clientAddress is the request's peer address without its port. Behind a
// reverse proxy this is the proxy's: every client then shares its budget.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// tooManyRequests answers 429 with when to try again and the limit.
func tooManyRequests(w http.ResponseWriter, per string, r rate, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", fmt.Sprint(secs))
	http.Error(w, fmt.Sprintf("Too many change requests %s (the limit is %v). Please try again in %d seconds.", per, r, secs),
		http.StatusTooManyRequests)
}

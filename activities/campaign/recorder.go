package campaign

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Recorder records the signatures the portal receives (issue 11 item 8: "the
// portal writes it to Postgres directly and idempotently"), many in one
// transaction. The audit log's chain lock is held from a transaction's first
// audit row to its commit (schema/0006_audit_chain.sql), so a transaction
// per signature would record one signature per commit; the portal's goal is
// 4,000 a second from 32 clients. A writer takes every request waiting when
// it is free, up to BatchMax, and writes them together: a group commit, whose
// batches grow with the load and whose latency at no load is one
// transaction. Writers writers do so at once, so one batch's look-ups and
// inserts overlap another's audit rows and commit, the part the chain lock
// serialises.
type Recorder struct {
	db       *sqlx.DB
	terms    termsCache
	requests chan *pendingSignature // unbuffered: a send succeeds only into a batch
	closing  chan struct{}
	writers  sync.WaitGroup
	close    sync.Once
}

// Writers is the number of batches written at once: two, so one batch's
// round trips and commit (waiting on the disk) overlap the other's work.
const Writers = 2

// BatchMax bounds the signatures written in one transaction, and so the
// statements' sizes and the time the chain lock is held.
const BatchMax = 256

// batchTimeout bounds one batch's transaction, whatever its callers' deadlines.
const batchTimeout = 30 * time.Second

// ErrRecorderClosed is Sign's answer once Close has begun.
var ErrRecorderClosed = errors.New("the signature recorder is closed")

type pendingSignature struct {
	req   SignRequest
	at    time.Time
	reply chan signed // buffered: the writer never waits for a caller
}

type signed struct {
	result Result
	err    error
}

// NewRecorder starts the recorder's writers; Close stops them.
func NewRecorder(db *sqlx.DB) *Recorder {
	r := &Recorder{db: db, requests: make(chan *pendingSignature), closing: make(chan struct{})}
	for range Writers {
		r.writers.Go(r.run)
	}
	return r
}

// Sign records req and returns what became of it. The signature's time is
// taken now, at microseconds (what Postgres keeps, so the seal recomputes
// from the row). An error means nothing is known to be recorded: the caller
// asks the person to try again, and a second try that finds the first one
// recorded says so.
func (r *Recorder) Sign(ctx context.Context, req SignRequest) (Result, error) {
	p := &pendingSignature{req: req, at: time.Now().UTC().Truncate(time.Microsecond), reply: make(chan signed, 1)}
	select {
	case r.requests <- p:
	case <-r.closing:
		return Result{}, ErrRecorderClosed
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	select {
	case s := <-p.reply:
		return s.result, s.err
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// Close finishes the batches being written and stops the writers; Sign then
// returns ErrRecorderClosed.
func (r *Recorder) Close() {
	r.close.Do(func() { close(r.closing) })
	r.writers.Wait()
}

func (r *Recorder) run() {
	for {
		var first *pendingSignature
		select {
		case first = <-r.requests:
		case <-r.closing:
			return
		}
		batch := []*pendingSignature{first}
	fill:
		for len(batch) < BatchMax {
			select {
			case p := <-r.requests:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		r.write(batch)
	}
}

// write records a batch and answers each of its callers. Requests are
// checked before anything is written, so a bad one is refused on its own;
// should the transaction still fail for a reason the checks did not foresee,
// each request is written alone, so one cannot fail the others.
func (r *Recorder) write(batch []*pendingSignature) {
	results, err := r.writeRetrying(batch)
	if err != nil && len(batch) > 1 {
		for _, p := range batch {
			r.write([]*pendingSignature{p})
		}
		return
	}
	for i, p := range batch {
		if err != nil {
			p.reply <- signed{err: err}
		} else {
			p.reply <- signed{result: results[i]}
		}
	}
}

// writeRetrying retries a batch that lost a deadlock or serialization race
// (a leaver's or a reminder's update of the same assignments).
func (r *Recorder) writeRetrying(batch []*pendingSignature) ([]Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	var err error
	for range 3 {
		var results []Result
		if results, err = writeBatch(ctx, r.db, &r.terms, batch); err == nil {
			return results, nil
		}
		var pqErr *pq.Error
		if !errors.As(err, &pqErr) || (pqErr.Code != "40P01" && pqErr.Code != "40001") {
			return nil, err
		}
	}
	return nil, err
}

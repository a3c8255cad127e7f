-- The risk register and the annual risk assessment over it (controls lists A
-- and B: "A risk register is maintained"; "A formal annual risk assessment
-- is performed and documented"). risks is the register as it stands; every
-- assessment keeps each risk's scores as they were that year in
-- risk_assessment_scores, so a year's assessment reads back unchanged after
-- later years re-score the register. Scores are likelihood x impact, 1-25.

CREATE TABLE risks (
    id                  text PRIMARY KEY,
    title               text NOT NULL,
    description         text NOT NULL DEFAULT '',
    category            text NOT NULL DEFAULT '',
    owner_id            text NOT NULL REFERENCES people (id),
    likelihood          int NOT NULL CHECK (likelihood BETWEEN 1 AND 5),
    impact              int NOT NULL CHECK (impact BETWEEN 1 AND 5),
    treatment           text NOT NULL CHECK (treatment IN ('mitigate', 'accept', 'transfer', 'avoid')),
    control_ids         text[] NOT NULL DEFAULT '{}',
    residual_likelihood int NOT NULL CHECK (residual_likelihood BETWEEN 1 AND 5),
    residual_impact     int NOT NULL CHECK (residual_impact BETWEEN 1 AND 5),
    -- An accepted risk above the program's risk tolerance is accepted only
    -- until this date, after which it is reviewed again.
    acceptance_expires_on date,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX risks_owner_idx ON risks (owner_id);

CREATE TABLE risk_assessments (
    id             text PRIMARY KEY,
    year           int NOT NULL,
    status         text NOT NULL CHECK (status IN ('open', 'signed-off')),
    risk_tolerance int NOT NULL CHECK (risk_tolerance BETWEEN 1 AND 25),
    control_ids    text[] NOT NULL DEFAULT '{}',
    opened_at      timestamptz NOT NULL,
    signed_off_by  text REFERENCES people (id),
    signed_off_at  timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX risk_assessments_year_idx ON risk_assessments (year, opened_at);

-- One owner's answer for one risk in one assessment round; the last round's
-- row is the year's score. Proposed marks a risk the owner added.
CREATE TABLE risk_assessment_scores (
    assessment_id       text NOT NULL REFERENCES risk_assessments (id),
    risk_id             text NOT NULL REFERENCES risks (id),
    round               int NOT NULL,
    likelihood          int NOT NULL CHECK (likelihood BETWEEN 1 AND 5),
    impact              int NOT NULL CHECK (impact BETWEEN 1 AND 5),
    residual_likelihood int NOT NULL CHECK (residual_likelihood BETWEEN 1 AND 5),
    residual_impact     int NOT NULL CHECK (residual_impact BETWEEN 1 AND 5),
    treatment           text NOT NULL CHECK (treatment IN ('mitigate', 'accept', 'transfer', 'avoid')),
    justification       text NOT NULL DEFAULT '',
    control_ids         text[] NOT NULL DEFAULT '{}',
    proposed            boolean NOT NULL DEFAULT false,
    task_id             text NOT NULL,
    assessed_by         text NOT NULL REFERENCES people (id),
    assessed_at         timestamptz NOT NULL,
    PRIMARY KEY (assessment_id, risk_id, round)
);

-- The sign-offs of an assessment (the officer's) and of each accepted risk
-- above tolerance (the officer's and the CEO's, with the expiry).
CREATE TABLE risk_signoffs (
    assessment_id text NOT NULL REFERENCES risk_assessments (id),
    step          text NOT NULL,
    risk_id       text REFERENCES risks (id),
    task_id       text PRIMARY KEY,
    decided_by    text NOT NULL REFERENCES people (id),
    decision      text NOT NULL CHECK (decision IN ('approve', 'reject')),
    note          text NOT NULL DEFAULT '',
    expires_on    date,
    decided_at    timestamptz NOT NULL
);
CREATE INDEX risk_signoffs_assessment_idx ON risk_signoffs (assessment_id);

GRANT SELECT, INSERT, UPDATE ON risks, risk_assessments TO complyflow_app;
GRANT SELECT, INSERT ON risk_assessment_scores, risk_signoffs TO complyflow_app;

-- Retention: seven years, the owner included (as 0014 does for vendor
-- reviews); scores and sign-offs are never changed.
CREATE FUNCTION risk_evidence_before_delete() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    since timestamptz;
    what  text;
BEGIN
    CASE TG_TABLE_NAME
    WHEN 'risks' THEN
        what := 'risk ' || OLD.id;
        since := OLD.updated_at;
    WHEN 'risk_assessments' THEN
        what := 'risk assessment ' || OLD.id;
        since := OLD.updated_at;
    WHEN 'risk_assessment_scores' THEN
        what := 'risk assessment ' || OLD.assessment_id || ' score of ' || OLD.risk_id;
        since := OLD.assessed_at;
    ELSE
        what := 'risk assessment ' || OLD.assessment_id || ' sign-off ' || OLD.task_id;
        since := OLD.decided_at;
    END CASE;
    IF since + interval '7 years' > now() THEN
        RAISE EXCEPTION '%: evidence is retained for 7 years, until %', what, since + interval '7 years'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN OLD;
END
$$;

CREATE FUNCTION risk_evidence_before_truncate() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '%: evidence is retained for 7 years; delete rows past it instead of truncating', TG_TABLE_NAME
        USING ERRCODE = 'check_violation';
END
$$;

CREATE FUNCTION risk_evidence_before_update() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '%: evidence is written once and never changed', TG_TABLE_NAME
        USING ERRCODE = 'check_violation';
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['risks', 'risk_assessments', 'risk_assessment_scores', 'risk_signoffs'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE DELETE ON %I FOR EACH ROW EXECUTE FUNCTION risk_evidence_before_delete()', t || '_before_delete', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION risk_evidence_before_truncate()', t || '_before_truncate', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['risk_assessment_scores', 'risk_signoffs'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION risk_evidence_before_update()', t || '_before_update', t);
    END LOOP;
END
$$;

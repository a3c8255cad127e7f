-- Product development policies (policy-management (c)): their changes also
-- need the Head of Engineering's approval. The program file says which
-- policies they are (`product_development: true`); nothing guesses it from
-- the policy's owner.
ALTER TABLE policies ADD COLUMN product_development boolean NOT NULL DEFAULT false;

-- Books a signed webhook call (api/webhook-signature.ts) in the transaction that acts on it;
-- inserted is false when the same call was accepted before (a replay). Rows older than any
-- tolerance are pruned on the way (index on received_at).
-- $1 sha256 of the signature and timestamp, $2 seconds a delivery is kept
WITH pruned AS (
  DELETE FROM webhook_delivery WHERE received_at < now() - make_interval(secs => $2)
), booked AS (
  INSERT INTO webhook_delivery (signature_hash) VALUES ($1) ON CONFLICT (signature_hash) DO NOTHING RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM booked) AS inserted

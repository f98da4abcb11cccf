-- Rotate-to-owner actions' turns, shared by every engine process
-- (spoke.OwnerRotator): the next turn of each flow action.
CREATE TABLE owner_rotations (
    account_id BIGINT NOT NULL,
    flow_id TEXT NOT NULL,
    action_id TEXT NOT NULL,
    turns BIGINT NOT NULL,
    PRIMARY KEY (account_id, flow_id, action_id)
);

CREATE TABLE IF NOT EXISTS metadata(
    key_id INTEGER PRIMARY KEY AUTOINCREMENT,
    identifier varchar(36) NOT NULL,
    session_type varchar(32) NOT NULL,
    real_user varchar(255) NOT NULL,
    user_name varchar(255) NOT NULL,
    ip_address varchar(128),
    kyuubi_instance varchar(1024) NOT NULL,
    state varchar(128) NOT NULL,
    resource varchar(1024),
    class_name varchar(1024),
    request_name varchar(1024),
    request_conf mediumtext,
    request_args mediumtext,
    create_time BIGINT NOT NULL,
    engine_type varchar(32) NOT NULL,
    cluster_manager varchar(128),
    engine_open_time bigint,
    engine_id varchar(128),
    engine_name mediumtext,
    engine_url varchar(1024),
    engine_state varchar(32),
    engine_error mediumtext,
    end_time bigint,
    peer_instance_closed boolean default '0'
);
CREATE UNIQUE INDEX metadata_unique_identifier_index ON metadata(identifier);
CREATE INDEX metadata_user_name_index ON metadata(user_name);
CREATE INDEX metadata_engine_type_index ON metadata(engine_type);

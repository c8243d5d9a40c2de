"""The SFTP clearinghouse mailbox: partner profiles, outbound file names, inbound kinds and the SFTP adapter."""

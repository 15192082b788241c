variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "etl-toolkit"
}

variable "vpc_cidr" {
  description = "CIDR of the VPC (two private and one public /20 are carved from it)."
  type        = string
  default     = "10.42.0.0/16"
}

variable "db_username" {
  description = "RDS master user."
  type        = string
  default     = "etl"
}

variable "db_password" {
  description = "RDS master password. Sensitive: pass it with TF_VAR_db_password, never in a committed file (see SOLUTION.md for Secrets Manager)."
  type        = string
  sensitive   = true
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.small"
}

variable "db_allocated_storage" {
  description = "RDS storage in GB (gp3, autoscaling up to 4x)."
  type        = number
  default     = 20
}

variable "db_multi_az" {
  description = "A standby in a second AZ (production: true)."
  type        = bool
  default     = false
}

variable "db_deletion_protection" {
  description = "Refuse to destroy the database (production: true)."
  type        = bool
  default     = true
}

variable "auth0_domain" {
  description = "Auth0 tenant domain, e.g. example.eu.auth0.com (the API trusts its JWKS)."
  type        = string
}

variable "auth0_audience" {
  description = "The API identifier registered in Auth0 (the tokens' audience)."
  type        = string
}

variable "lambda_zip" {
  description = "Path of the zip built by scripts/build_lambda.sh."
  type        = string
  default     = "../../build/lambda.zip"
}

variable "lambda_memory_mb" {
  description = "Lambda memory (CPU grows with it)."
  type        = number
  default     = 1024
}

variable "lambda_timeout_s" {
  description = "Lambda timeout; API Gateway HTTP APIs stop waiting after 30 s."
  type        = number
  default     = 29
}

variable "lambda_reserved_concurrency" {
  description = "Most concurrent executions: each holds a database connection, so keep it under the RDS connection limit (or put RDS Proxy in front)."
  type        = number
  default     = 20
}

variable "log_level" {
  description = "LOG_LEVEL of the toolkit."
  type        = string
  default     = "INFO"
}

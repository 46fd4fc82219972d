// The shape of config/hunze.yaml, validated at boot and by `hunze config check`.
// Keys are camelCase and documented in docs/configuration.md; class-validator reports each problem with its path.
import { Type } from 'class-transformer';
import {
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsEmail,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';

const COUNTRY = /^[A-Z]{2}$/;
const CIDR = /^[0-9a-fA-F:.]+\/\d{1,3}$/;
/** A CIDR range or a host name (letters, digits, hyphens, dots; an IP literal counts as a /32 or /128). */
const MEDIA_HOST =
  /^(?:[0-9a-fA-F:.]+\/\d{1,3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*|[a-zA-Z0-9](?:[a-zA-Z0-9.-]{0,252}))$/;
export const MODEL_KINDS = ['chat', 'embedding', 'image', 'audio'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

export class PartyConfig {
  @IsString() @MinLength(1) name!: string;
  @IsOptional() @IsString() address?: string;
  @IsOptional() @Matches(COUNTRY, { message: 'must be an ISO 3166-1 alpha-2 code' }) country?: string;
  @IsOptional() @IsString() contact?: string;
}

export class DpoConfig {
  @IsString() @MinLength(1) name!: string;
  @IsEmail() email!: string;
}

export class ApplianceConfig {
  @IsString() @MinLength(1) name!: string;
  @ValidateNested() @Type(() => PartyConfig) operator!: PartyConfig;
  @IsOptional() @ValidateNested() @Type(() => DpoConfig) dpo?: DpoConfig;
}

export class ServerConfig {
  @IsString() host: string = '127.0.0.1';
  @IsInt() @Min(0) @Max(65535) port: number = 8080;
  @IsNumber() @Min(0.001) @Max(1024) bodyLimitMb: number = 25;
  /** Keys any one object in a JSON body may have; checked in one pass before validation. */
  @IsInt() @Min(1) @Max(1_000_000) maxObjectKeys: number = 10_000;
  /** On shutdown, open requests (streams) get this long to finish before their connections are closed. */
  @IsNumber() @Min(0) @Max(3600) shutdownGraceSeconds: number = 10;
  /** A request whose body stops arriving for this long is answered 408 and its connection closed. */
  @IsInt() @Min(100) @Max(3_600_000) bodyReadTimeoutMs: number = 30_000;
  /** Request line plus headers; larger requests are answered 431 (Node's default is 16 KiB). */
  @IsInt() @Min(1024) @Max(1_048_576) maxHeaderBytes: number = 16_384;
}

export class AuthConfig {
  /** Break-glass admin key; normally `env:HUNZE_ADMIN_KEY`. Never stored. */
  @IsOptional() @IsString() @MinLength(16) adminKey?: string;
}

export class ResidencyConfig {
  @IsArray() @ArrayMinSize(1) @IsString({ each: true }) allowedRegions: string[] = ['EEA'];
}

export class LocationConfig {
  @Matches(COUNTRY, { message: 'must be an ISO 3166-1 alpha-2 code' }) country!: string;
  @IsOptional() @IsString() city?: string;
  @IsOptional() @IsString() site?: string;
}

export class TimeoutsConfig {
  @IsInt() @Min(1) connectMs: number = 5_000;
  /** Until the upstream's response headers arrive (a long prompt's prefill counts here). */
  @IsInt() @Min(1) firstByteMs: number = 120_000;
  /** Between two chunks of a response body. */
  @IsInt() @Min(1) idleMs: number = 60_000;
}

export class HealthCheckConfig {
  /** Probed with GET on the upstream's origin: vLLM and TEI answer /health. */
  @Matches(/^\//, { message: 'must start with /' }) path: string = '/health';
  /** 0 turns active checks off (the circuit breaker still ejects failing upstreams). */
  @IsNumber() @Min(0) intervalSeconds: number = 10;
  @IsInt() @Min(1) timeoutMs: number = 2_000;
}

export class CircuitBreakerConfig {
  /** Consecutive failures that open the circuit (the upstream gets no requests)... */
  @IsInt() @Min(1) failures: number = 5;
  /** ...until this long has passed; then one trial request decides. */
  @IsNumber() @Min(0.1) openSeconds: number = 10;
}

/** TLS to an https upstream: the CA that signed its certificate and the name it must carry. */
export class UpstreamTlsConfig {
  /** Path to a PEM file of the CA certificate(s) that verify the upstream (instead of the system store). */
  @IsOptional() @IsString() @MinLength(1) ca?: string;
  /** The name sent as SNI and verified in the certificate; the base URL's host when absent. */
  @IsOptional() @IsString() @MinLength(1) serverName?: string;
}

/**
 * The upstream host's own outbound traffic as the deployment declares it (deploy/ renders it from the inventory
 * that also writes the host's nftables rules). The appliance cannot see another host's firewall: the reports
 * state this as declared, not as checked.
 */
export class UpstreamEgressConfig {
  /** Whether the host drops every outbound connection it was not given an allowance for. */
  @IsBoolean() defaultDeny: boolean = false;
  /** Where the host may still connect to (gateways, DNS, NTP, package mirror). */
  @IsArray() @Matches(CIDR, { each: true, message: 'each must be a CIDR range' }) allowed: string[] = [];
}

export class UpstreamConfig {
  @Matches(/^[a-z0-9][a-z0-9._-]*$/, {
    message: 'must be lowercase letters, digits, dot, dash or underscore',
  })
  id!: string;
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true }) baseUrl!: string;
  @IsOptional() @IsString() @MinLength(1) apiKey?: string;
  @ValidateNested() @Type(() => LocationConfig) location!: LocationConfig;
  @ValidateNested() @Type(() => PartyConfig) operator!: PartyConfig;
  @IsArray()
  @ArrayMinSize(1)
  @Matches(CIDR, { each: true, message: 'each must be a CIDR range' })
  networks!: string[];
  @IsOptional() @IsString() hardware?: string;
  @ValidateNested() @Type(() => TimeoutsConfig) timeouts: TimeoutsConfig = new TimeoutsConfig();
  @IsInt() @Min(1) @Max(10_000) maxConnections: number = 128;
  @ValidateNested() @Type(() => HealthCheckConfig) healthCheck: HealthCheckConfig = new HealthCheckConfig();
  @ValidateNested() @Type(() => CircuitBreakerConfig) circuitBreaker: CircuitBreakerConfig =
    new CircuitBreakerConfig();
  @IsOptional() @ValidateNested() @Type(() => UpstreamTlsConfig) tls?: UpstreamTlsConfig;
  @IsOptional() @ValidateNested() @Type(() => UpstreamEgressConfig) egress?: UpstreamEgressConfig;
}

export class ModelCacheConfig {
  @IsInt() @Min(0) ttlSeconds: number = 0;
}

/** Rounds over the model's upstreams again after 429, 503 or connection failures (upstream/policies.ts). */
export class ModelRetriesConfig {
  /** Retries after the first failed round; 0 = none. */
  @IsInt() @Min(0) @Max(10) attempts: number = 0;
  /** The first retry's wait; it doubles for each later one (an upstream's retry-after up to 10 s wins). */
  @IsInt() @Min(0) @Max(60_000) backoffMs: number = 100;
}

export class ModelConfig {
  @IsString() @MinLength(1) id!: string;
  @IsArray() @ArrayUnique() @IsString({ each: true }) aliases: string[] = [];
  @IsIn(MODEL_KINDS) kind!: ModelKind;
  @IsArray() @ArrayMinSize(1) @IsString({ each: true }) upstreams!: string[];
  @IsOptional() @IsInt() @Min(1) contextLength?: number;
  @IsOptional() @IsInt() @Min(1) quality?: number;
  @IsOptional() @IsNumber() @Min(0) costPerMTokens?: number;
  @ValidateNested() @Type(() => ModelCacheConfig) cache: ModelCacheConfig = new ModelCacheConfig();
  @ValidateNested() @Type(() => ModelRetriesConfig) retries: ModelRetriesConfig = new ModelRetriesConfig();
}

export class RetentionConfig {
  @IsInt() @Min(1) usageDays: number = 395;
  @IsInt() @Min(1) auditDays: number = 2190;
  @IsInt() @Min(1) imageMinutes: number = 10;
}

export class TelemetryConfig {
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true }) otlpEndpoint?: string | null = null;
  /** Where the OTLP collector (base URL, as OTEL_EXPORTER_OTLP_ENDPOINT) lives, checked like an upstream's `networks`; required with otlpEndpoint. */
  @IsOptional()
  @IsArray()
  @Matches(CIDR, { each: true, message: 'each must be a CIDR range' })
  otlpNetworks?: string[];
  /** The collector's country (ISO 3166-1 alpha-2); appliance.operator.country when absent. */
  @IsOptional() @Matches(COUNTRY, { message: 'must be an ISO 3166-1 alpha-2 code' }) otlpCountry?: string;
  /** How often spans are batched and metrics pushed to the collector. */
  @IsInt() @Min(1) @Max(3600) otlpIntervalSeconds: number = 15;
  @IsBoolean() prometheus: boolean = true;
}

/**
 * Where a store the appliance connects to (database, Redis) may be: every resolved address inside `networks`
 * (none declared: loopback or a Unix socket only), a public address in `country` (the operator's when absent).
 */
export class StoreLocationConfig {
  @IsArray() @Matches(CIDR, { each: true, message: 'each must be a CIDR range' }) networks: string[] = [];
  @IsOptional() @Matches(COUNTRY, { message: 'must be an ISO 3166-1 alpha-2 code' }) country?: string;
}

export const REMOTE_MEDIA_POLICIES = ['refuse', 'fetch'] as const;
export type RemoteMediaPolicy = (typeof REMOTE_MEDIA_POLICIES)[number];

/** Media referenced by URL in a request (image, audio, file parts). */
export class MediaConfig {
  /** refuse: 400 remote_media_refused; fetch: the gateway downloads it through the residency guard. */
  @IsIn(REMOTE_MEDIA_POLICIES) remoteUrls: RemoteMediaPolicy = 'refuse';
  @IsInt() @Min(1) @Max(1024 * 1024 * 1024) maxBytes: number = 20_971_520;
  /** Private or loopback hosts a fetch may reach: host names or CIDR ranges. */
  @IsArray()
  @Matches(MEDIA_HOST, { each: true, message: 'each must be a host name or a CIDR range' })
  allowedHosts: string[] = [];
  @IsInt() @Min(1) @Max(120_000) timeoutMs: number = 10_000;
}

export class RedisConfig extends StoreLocationConfig {
  @IsOptional() @IsString() url?: string | null = null;
  /**
   * How often each replica exchanges its rate-limit counts with Redis, in ms. 0: one Redis round trip per
   * request (exact across replicas, slower); otherwise requests are decided from this replica's counters,
   * kept in step with every other replica's through Redis at this interval.
   */
  @IsInt() @Min(0) @Max(1000) rateLimitSyncMs: number = 20;
  /**
   * How long a rate-limit command may take in Redis before it counts as failed, in ms: the replica then decides
   * from its own counters (degraded) until a ping finds Redis again.
   */
  @IsInt() @Min(10) @Max(10_000) commandTimeoutMs: number = 100;
}

/** The YAML document: what operators write and what the fingerprint covers. */
export class HunzeConfigFile {
  @ValidateNested() @Type(() => ApplianceConfig) appliance!: ApplianceConfig;
  @ValidateNested() @Type(() => ServerConfig) server: ServerConfig = new ServerConfig();
  @ValidateNested() @Type(() => AuthConfig) auth: AuthConfig = new AuthConfig();
  @ValidateNested() @Type(() => ResidencyConfig) residency: ResidencyConfig = new ResidencyConfig();
  @IsArray() @ValidateNested({ each: true }) @Type(() => UpstreamConfig) upstreams: UpstreamConfig[] = [];
  @IsArray() @ValidateNested({ each: true }) @Type(() => ModelConfig) models: ModelConfig[] = [];
  @ValidateNested() @Type(() => RetentionConfig) retention: RetentionConfig = new RetentionConfig();
  @ValidateNested() @Type(() => TelemetryConfig) telemetry: TelemetryConfig = new TelemetryConfig();
  @ValidateNested() @Type(() => RedisConfig) redis: RedisConfig = new RedisConfig();
  @ValidateNested() @Type(() => StoreLocationConfig) database: StoreLocationConfig =
    new StoreLocationConfig();
  @ValidateNested() @Type(() => MediaConfig) media: MediaConfig = new MediaConfig();
}
